#!/usr/bin/env python3
"""A labelled corpus for secret scanners, and their recall and precision on it.

`secrets_corpus.py make DIR` writes a realistic application tree (settings, compose and
Kubernetes files, code in several languages, a notebook, a key file, a binary, documentation and
test fixtures) with made-up credentials in every family the gate issue names, and as many traps:
documented example keys, placeholders, obviously fake values, identifiers beside credentials,
low-entropy constants. Every value is generated here from a fixed seed, so no secret is stored in
the repository. The labels (file, line, family) go to DIR/../labels.json.

`secrets_corpus.py score LABELS TOOL REPORT` reads a scanner's report (armtune gate's JSON,
detect-secrets' JSON, CredSweeper's JSON) and prints recall per family and precision, counting a
finding as true when it is on a labelled line.
"""

import json
import os
import random
import string
import sys

RNG = random.Random(20261202)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def rand(alphabet, n):
    return "".join(RNG.choice(alphabet) for _ in range(n))


def password(n=18):
    return rand(ALNUM, n - 3) + RNG.choice("!#%") + rand(string.digits, 2)


# Families of positives, as the issue names them.
PROVIDER, PAIR, SETTINGS, KEYFILE, CONNECTION, JWT = (
    "provider token",
    "credential pair",
    "credential-named setting",
    "private key",
    "connection string",
    "jwt",
)
# An identifier beside its secret (an account SID, a key id): finding it is neither required nor
# a false alarm.
NEUTRAL = "neutral"


class Tree:
    """Files written line by line, with the lines that hold secrets labelled."""

    def __init__(self, root):
        self.root = root
        self.labels = []

    def write(self, path, lines):
        """lines: str, or (str, family) for a line holding a secret."""
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        text = []
        for number, line in enumerate(lines, 1):
            if isinstance(line, tuple):
                line, family = line
                self.labels.append({"file": path, "line": number, "family": family})
            text.append(line)
        with open(full, "w") as f:
            f.write("\n".join(text) + "\n")

    def write_bytes(self, path, data, secret_lines):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        for family in secret_lines:
            self.labels.append({"file": path, "line": 0, "family": family})


def aws_pair():
    return "AKIA" + rand(B32, 16), rand(B64, 40)


def github():
    return "ghp_" + rand(ALNUM, 36)


def stripe():
    return "sk_live_" + rand(ALNUM, 24)


def slack():
    return "xoxb-%d-%d-%s" % (RNG.randrange(10**11, 10**12), RNG.randrange(10**12, 10**13), rand(ALNUM, 24))


def sendgrid():
    return "SG." + rand(URLSAFE, 22) + "." + rand(URLSAFE, 43)


def openai():
    return "sk-proj-" + rand(URLSAFE, 40) + "T3BlbkFJ" + rand(URLSAFE, 40)


def gcp_secret():
    return "GOCSPX-" + rand(URLSAFE, 28)


def twilio_pair():
    return "AC" + rand(HEX, 32), rand(HEX, 32)


def jwt():
    import base64

    def seg(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return seg({"alg": "HS256", "typ": "JWT"}) + "." + seg({"sub": rand(HEX, 12), "role": "admin", "iat": 1767225600}) + "." + rand(URLSAFE, 43)


def pem():
    body = [rand(B64, 64) for _ in range(12)] + [rand(B64, 40) + "=="]
    return ["-----BEGIN RSA PRIVATE KEY-----"] + body + ["-----END RSA PRIVATE KEY-----"]


def make(root):
    t = Tree(root)
    # The .env is ignored by git, as it should be, and still one `git add -f` from leaking.
    t.write(".gitignore", [".env", "__pycache__/"])
    key_id, key_secret = aws_pair()
    sid, token = twilio_pair()
    db = password()
    # Settings of several kinds.
    t.write(".env", [
        "# local settings",
        ("GITHUB_TOKEN=" + github(), PROVIDER),
        ("STRIPE_SECRET_KEY=" + stripe(), PROVIDER),
        ("DB_PASSWORD=" + password(), SETTINGS),
        "DB_HOST=db.internal",
        "LOG_LEVEL=debug",
        "DB_PASSWORD_FILE=/run/secrets/db",
    ])
    t.write("config/settings.yaml", [
        "aws:",
        "  region: eu-west-1",
        ("  access_key_id: " + key_id, PROVIDER),
        ("  secret_access_key: " + key_secret, PAIR),
        "database:",
        "  user: app",
        ("  password: " + password(), SETTINGS),
        "  password_env: ${DB_PASSWORD}",
    ])
    t.write("docker-compose.yml", [
        "services:",
        "  db:",
        "    image: postgres:16",
        "    environment:",
        ("      POSTGRES_PASSWORD: " + password(), SETTINGS),
        "      POSTGRES_USER: app",
        "  cache:",
        "    image: redis:7",
        "    environment:",
        ("      - REDIS_PASSWORD=" + password(), SETTINGS),
    ])
    t.write("k8s/secret.yaml", [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: api",
        "stringData:",
        ("  api-token: " + rand(ALNUM, 32), SETTINGS),
        "  username: api",
    ])
    t.write("config/appsettings.json", [
        "{",
        '  "Logging": {"Level": "Information"},',
        ('  "ApiToken": "%s",' % rand(ALNUM, 40), SETTINGS),
        '  "ClientId": "1234567890",',
        ('  "ConnectionString": "postgres://app:%s@db.internal:5432/app"' % db, CONNECTION),
        "}",
    ])
    # Code.
    t.write("src/app.py", [
        "import os",
        "",
        ('OPENAI_API_KEY = "%s"' % openai(), PROVIDER),
        ('GOOGLE_CLIENT_SECRET = "%s"' % gcp_secret(), PROVIDER),
        'AUTH_HEADER = "X-Auth-Token"',
        'TOKEN_URL = "https://oauth2.googleapis.com/token"',
        "password = os.environ['DB_PASSWORD']",
        ('session_token = "%s"' % jwt(), JWT),
    ])
    t.write("src/notify.js", [
        "const twilio = require('twilio');",
        ("const accountSid = '%s';" % sid, NEUTRAL),
        ("const authToken = '%s';" % token, PAIR),
        ("const sendgridKey = '%s';" % sendgrid(), PROVIDER),
        ("const slack = '%s';" % slack(), PROVIDER),
        "const requestId = '%s';" % "-".join(rand(HEX, n) for n in (8, 4, 4, 4, 12)),
    ])
    t.write("src/Main.java", [
        "class Main {",
        ('  static final String DB_URL = "jdbc:mysql://db:3306/app?user=app&password=%s";' % password(), CONNECTION),
        '  static final String PASSWORD_PROPERTY = "db.password";',
        "}",
    ])
    t.write("deploy/id_deploy.pem", [(line, KEYFILE) if i == 0 else line for i, line in enumerate(pem())])
    notebook = {"cells": [{"cell_type": "code", "source": ["import requests\n", 'headers = {"Authorization": "token %s"}\n' % github()],
                           "outputs": []}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    t.write("notebooks/explore.ipynb", json.dumps(notebook, indent=1).split("\n"))
    # The token is on the notebook's source line; find it.
    for number, line in enumerate(open(os.path.join(root, "notebooks/explore.ipynb")).read().split("\n"), 1):
        if "ghp_" in line:
            t.labels.append({"file": "notebooks/explore.ipynb", "line": number, "family": PROVIDER})
    blob = bytes(RNG.randrange(256) for _ in range(2048)) + b"\0api_token=" + github().encode() + b"\0" + bytes(512)
    t.write_bytes("bin/agent.bin", blob, [PROVIDER])
    # Traps: nothing here is a secret.
    t.write("docs/SETUP.md", [
        "# Setup",
        "Put your key in `.env`: `GITHUB_TOKEN=<your-token>`.",
        "AWS documents its example key: AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        # jwt.io's example token, joined here so that this file holds no token.
        "A JWT looks like " + ".".join(["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                                        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
                                        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"]),
        "password: changeme",
        "api_key: xxxxxxxxxxxxxxxxxxxxxxxx",
        "STRIPE_SECRET_KEY=sk_test_" + "0" * 25,
    ])
    t.write("tests/fixtures/fake_settings.yaml", [
        "token: FAKE_TOKEN_FOR_TESTS_ONLY_0001",
        "password: 0000000000000000",
        "secret: your-secret-here",
        "api_key: ${API_KEY}",
    ])
    t.write("config/service-account.json", [
        "{",
        '  "type": "service_account",',
        '  "private_key_id": "%s",' % rand(HEX, 40),
        '  "client_id": "%d",' % RNG.randrange(10**20, 10**21),
        '  "token_uri": "https://oauth2.googleapis.com/token"',
        "}",
    ])
    t.write("src/checksums.txt", [
        "sha256: %s" % rand(HEX, 64),
        "commit: %s" % rand(HEX, 40),
        "etag: W/\"%s\"" % rand(HEX, 32),
    ])
    # Pairs whose secret half has no credential name: only the other half beside it says what
    # it is (gitleaks' composite rules).
    csv_id, csv_secret = aws_pair()
    t.write("deploy/accessKeys.csv", [
        "Access key ID,Secret access key",
        ("%s,%s" % (csv_id, csv_secret), PAIR),
    ])
    sms_sid, sms_token = twilio_pair()
    t.write("src/sms.py", [
        "from twilio.rest import Client",
        "",
        ('client = Client("%s", "%s")' % (sms_sid, sms_token), PAIR),
        # A message SID: 32 hex digits too, but part of its own identifier.
        'last_message = "SM%s"' % rand(HEX, 32),
    ])
    t.write("src/github_oauth.py", [
        "from requests.auth import HTTPBasicAuth",
        "",
        'CLIENT_ID = "Iv1.%s"' % rand(HEX, 16),
        ('auth = HTTPBasicAuth(CLIENT_ID, "%s")' % rand(HEX, 40), PAIR),
    ])
    rotated_id, _ = aws_pair()
    t.write("deploy/rotation.log", [
        ("2026-11-30 retired %s" % rotated_id, PROVIDER),
        "  by commit %s" % rand(HEX, 40),
    ])

    def uuid():
        return "-".join(rand(HEX, n) for n in (8, 4, 4, 4, 12))
    t.write("config/msal.json", [
        "{",
        '  "client_id": "%s",' % uuid(),
        '  "tenant_id": "%s",' % uuid(),
        '  "authority": "https://login.microsoftonline.com/%s",' % uuid(),
        '  "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs"',
        "}",
    ])
    return t.labels


def armtune_findings(data):
    return {(f["path"], f.get("line", 0)) for f in data["findings"]}


def detect_secrets_findings(data):
    return {(path.removeprefix("./"), r["line_number"]) for path, results in data["results"].items() for r in results}


def credsweeper_findings(data):
    def relative(path):
        return path[path.index("corpus/") + 7:] if "corpus/" in path else path
    return {(relative(ld["path"]), ld["line_num"]) for c in data for ld in c["line_data_list"]}


FINDINGS = {"armtune": armtune_findings, "detect-secrets": detect_secrets_findings, "credsweeper": credsweeper_findings}


def findings(tool, report):
    """(file, line) of each finding, as the tool reports them."""
    return FINDINGS[tool](json.load(open(report)))


def hit(label, found):
    """Whether a finding is on the label's line (a binary file's finding has no line: any finding
    in that file counts)."""
    if label["line"] == 0:
        return any(f == label["file"] for f, _ in found)
    return (label["file"], label["line"]) in found


def split_labels(labels_path):
    """The labels that count, and the neutral lines (neither required nor false)."""
    labels = json.load(open(labels_path))
    neutral = {(l["file"], l["line"]) for l in labels if l["family"] == NEUTRAL}
    return [l for l in labels if l["family"] != NEUTRAL], neutral


def by_family(labels, found):
    """family -> [found, labelled]."""
    families = {}
    for label in labels:
        got = families.setdefault(label["family"], [0, 0])
        got[1] += 1
        got[0] += hit(label, found)
    return families


def false_alarms(labels, found):
    labelled = {(l["file"], l["line"]) for l in labels}
    binary = {l["file"] for l in labels if l["line"] == 0}
    return sorted(f for f in found if f not in labelled and f[0] not in binary)


def score(labels_path, tool, report):
    labels, neutral = split_labels(labels_path)
    found = findings(tool, report) - neutral
    families = by_family(labels, found)
    false = false_alarms(labels, found)
    hits = sum(h for h, _ in families.values())
    true = len(found) - len(false)
    print(f"{tool}: recall {hits / max(1, len(labels)):.2f} ({hits}/{len(labels)}), "
          f"precision {true / max(1, len(found)):.2f} ({true}/{len(found)} findings on labelled lines)")
    for family, (h, n) in sorted(families.items()):
        print(f"    {family:28s} {h}/{n}")
    missed = [f"{l['file']}:{l['line']}" for l in labels if not hit(l, found)]
    if missed:
        print("    missed: " + ", ".join(missed))
    if false:
        print("    false alarms: " + ", ".join(f"{f}:{l}" for f, l in false))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        labels = make(sys.argv[2])
        with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[2])), "labels.json"), "w") as f:
            json.dump(labels, f, indent=1)
        print(f"{len(labels)} secrets in {sys.argv[2]}")
    elif len(sys.argv) == 5 and sys.argv[1] == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
