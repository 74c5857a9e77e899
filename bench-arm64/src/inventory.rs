//! Ansible INI inventories (`armtune bench run --hosts FILE`): the list of boards Pi-cluster users
//! already keep for Ansible, read as Ansible reads it. Groups (`[pis]`), group variables
//! (`[pis:vars]`), nested groups (`[lab:children]`), hosts outside any group, host ranges
//! (`pi[01:04].local`, `node-[a:c]`, with a stride `[0:10:2]`), `host:port`, quoted values. The
//! variables used are the connection ones: `ansible_host`, `ansible_user`, `ansible_port` and
//! `ansible_ssh_private_key_file` (and their old `ansible_ssh_*` names); a host's own variables
//! win over its groups', a child group's over its parent's, as in Ansible.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
};

/// One host of an inventory, with its connection settings resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The inventory's name for it (what `--limit` and the stored runs call it).
    pub name: String,
    /// Where to connect: `ansible_host`, or the name.
    pub address: String,
    /// `ansible_user`.
    pub user: Option<String>,
    /// `ansible_port`, or the port of a `host:port` line.
    pub port: Option<u16>,
    /// `ansible_ssh_private_key_file`.
    pub identity: Option<PathBuf>,
    /// The groups it is in, ancestors included (`all` too), sorted.
    pub groups: Vec<String>,
}

impl Host {
    /// `user@address`, or the address alone: what ssh takes.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.address),
            None => self.address.clone(),
        }
    }
}

/// A parsed inventory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Hosts in the order the file first names them.
    pub hosts: Vec<Host>,
    /// Every group named, with its direct children.
    children: BTreeMap<String, Vec<String>>,
}

#[derive(Default)]
struct Raw {
    order: Vec<String>,
    host_vars: HashMap<String, Vec<(String, String)>>,
    members: HashMap<String, Vec<String>>,
    group_vars: HashMap<String, Vec<(String, String)>>,
    children: BTreeMap<String, Vec<String>>,
}

enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

impl Inventory {
    /// Parses the text of an INI inventory; an error names the line and what is wrong with it.
    pub fn parse(text: &str) -> Result<Inventory, String> {
        let mut raw = Raw::default();
        let mut section = Section::Hosts("ungrouped".into());
        for (n, line) in text.lines().enumerate() {
            let at = |e: String| format!("line {}: {e}", n + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                section = parse_header(header).map_err(at)?;
                let (Section::Hosts(g) | Section::Vars(g) | Section::Children(g)) = &section;
                raw.children.entry(g.clone()).or_default();
                continue;
            }
            match &section {
                Section::Hosts(group) => raw.add_hosts(group, line).map_err(at)?,
                Section::Vars(group) => {
                    let (key, value) =
                        key_value(line).ok_or_else(|| at(format!("expected key=value, found {line:?}")))?;
                    raw.group_vars.entry(group.clone()).or_default().push((key, value));
                }
                Section::Children(group) => {
                    raw.children.entry(line.to_string()).or_default();
                    raw.children.entry(group.clone()).or_default().push(line.to_string());
                }
            }
        }
        raw.resolve()
    }

    /// The hosts `pattern` names: `all`, group and host names, separated by commas or colons
    /// (their union, in inventory order); every host when `None`. An unknown name is an error.
    pub fn select(&self, pattern: Option<&str>) -> Result<Vec<&Host>, String> {
        let Some(pattern) = pattern else { return Ok(self.hosts.iter().collect()) };
        let names: Vec<&str> = pattern.split([',', ':']).map(str::trim).filter(|s| !s.is_empty()).collect();
        for name in &names {
            if !self.children.contains_key(*name) && *name != "all" && !self.hosts.iter().any(|h| h.name == *name) {
                let groups: Vec<&str> = self.children.keys().map(String::as_str).collect();
                return Err(format!("no host or group {name:?} in the inventory (groups: {})", groups.join(", ")));
            }
        }
        Ok(self
            .hosts
            .iter()
            .filter(|h| names.iter().any(|n| h.name == *n || h.groups.iter().any(|g| g == n)))
            .collect())
    }
}

fn parse_header(header: &str) -> Result<Section, String> {
    let name = header.strip_suffix(']').ok_or_else(|| format!("unclosed section header [{header}"))?.trim();
    let section = match name.split_once(':') {
        None => Section::Hosts(name.to_string()),
        Some((group, "vars")) => Section::Vars(group.to_string()),
        Some((group, "children")) => Section::Children(group.to_string()),
        Some((_, kind)) => return Err(format!("unknown section kind :{kind} (Ansible has :vars and :children)")),
    };
    match &section {
        Section::Hosts(g) | Section::Vars(g) | Section::Children(g)
            if g.is_empty() || g.contains(char::is_whitespace) =>
        {
            Err(format!("bad group name {g:?}"))
        }
        _ => Ok(section),
    }
}

fn key_value(token: &str) -> Option<(String, String)> {
    let (key, value) = token.split_once('=')?;
    let value = value.trim();
    // A vars line is not split into words: unquote one quoted value.
    let value = shlex::split(value).filter(|w| w.len() == 1).map_or_else(|| value.to_string(), |mut w| w.remove(0));
    Some((key.trim().to_string(), value))
}

impl Raw {
    fn add_hosts(&mut self, group: &str, line: &str) -> Result<(), String> {
        let words = shlex::split(line).ok_or_else(|| format!("unbalanced quotes in {line:?}"))?;
        let (pattern, vars) = words.split_first().ok_or("empty host line")?;
        let mut host_vars = Vec::new();
        for word in vars {
            let (key, value) = word.split_once('=').ok_or_else(|| format!("expected key=value, found {word:?}"))?;
            host_vars.push((key.to_string(), value.to_string()));
        }
        // `host:port`, but not an IPv6 address (more than one colon).
        let (pattern, port) = match pattern.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => (h, Some(p)),
            _ => (pattern.as_str(), None),
        };
        if let Some(port) = port {
            host_vars.push(("ansible_port".into(), port.into()));
        }
        for name in expand(pattern)? {
            if !self.host_vars.contains_key(&name) {
                self.order.push(name.clone());
            }
            self.host_vars.entry(name.clone()).or_default().extend(host_vars.iter().cloned());
            self.members.entry(group.to_string()).or_default().push(name);
        }
        Ok(())
    }

    /// Each group's depth below `all` (a child is deeper than its parent) and ancestors.
    fn ancestors(&self, group: &str) -> Vec<String> {
        let mut found = vec![group.to_string()];
        let mut i = 0;
        while i < found.len() {
            let g = found[i].clone();
            for (parent, kids) in &self.children {
                if kids.contains(&g) && !found.contains(parent) {
                    found.push(parent.clone());
                }
            }
            i += 1;
        }
        found
    }

    fn depth(&self, group: &str) -> usize {
        // The longest chain of parents; a cycle (an error in Ansible too) stops at the group count.
        let mut depth = 0;
        let mut level = vec![group.to_string()];
        while depth <= self.children.len() {
            let parents: Vec<String> = self
                .children
                .iter()
                .filter(|(_, kids)| kids.iter().any(|k| level.contains(k)))
                .map(|(p, _)| p.clone())
                .collect();
            if parents.is_empty() {
                break;
            }
            level = parents;
            depth += 1;
        }
        depth
    }

    fn resolve(self) -> Result<Inventory, String> {
        let mut hosts = Vec::new();
        for name in &self.order {
            let mut groups: Vec<String> =
                self.members.iter().filter(|(_, m)| m.contains(name)).flat_map(|(g, _)| self.ancestors(g)).collect();
            groups.push("all".into());
            groups.sort();
            groups.dedup();
            // Group variables from the least to the most specific, then the host's own.
            let mut by_depth: Vec<(usize, &String)> =
                groups.iter().map(|g| (if g == "all" { 0 } else { self.depth(g) + 1 }, g)).collect();
            by_depth.sort();
            let mut vars: HashMap<&str, &str> = HashMap::new();
            let group_vars = by_depth.iter().filter_map(|(_, g)| self.group_vars.get(*g)).flatten();
            for (k, v) in group_vars.chain(self.host_vars.get(name).into_iter().flatten()) {
                vars.insert(k, v);
            }
            let var = |new: &str, old: &str| vars.get(new).or_else(|| vars.get(old)).map(|v| v.to_string());
            let port = var("ansible_port", "ansible_ssh_port")
                .map(|p| p.parse::<u16>().map_err(|_| format!("host {name}: ansible_port {p:?} is not a port number")))
                .transpose()?;
            hosts.push(Host {
                name: name.clone(),
                address: var("ansible_host", "ansible_ssh_host").unwrap_or_else(|| name.clone()),
                user: var("ansible_user", "ansible_ssh_user"),
                port,
                identity: var("ansible_ssh_private_key_file", "ansible_private_key_file").map(PathBuf::from),
                groups,
            });
        }
        let mut children = self.children;
        children.entry("ungrouped".into()).or_default();
        Ok(Inventory { hosts, children })
    }
}

/// The names a host pattern stands for: `pi[01:04]` is pi01 to pi04 (zero padding kept), `[a:c]`
/// letters, `[0:10:2]` with a stride; several ranges multiply.
fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else { return Ok(vec![pattern.to_string()]) };
    let close = open + pattern[open..].find(']').ok_or_else(|| format!("unclosed range in {pattern:?}"))?;
    let (head, range, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let parts: Vec<&str> = range.split(':').collect();
    let bad = || format!("bad range [{range}] in {pattern:?}: expected [START:END] or [START:END:STEP]");
    let (start, end) = match parts.as_slice() {
        [s, e] | [s, e, _] => (*s, *e),
        _ => return Err(bad()),
    };
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().ok().filter(|&s| s > 0).ok_or_else(bad)?,
        None => 1,
    };
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        let width = if start.len() > 1 && start.starts_with('0') { start.len() } else { 0 };
        if b < a || (b - a) / step as u64 > 10_000 {
            return Err(bad());
        }
        (a..=b).step_by(step).map(|i| format!("{i:0width$}")).collect()
    } else {
        let (a, b) = (single_letter(start).ok_or_else(bad)?, single_letter(end).ok_or_else(bad)?);
        if b < a {
            return Err(bad());
        }
        (a..=b).step_by(step).map(String::from).collect()
    };
    let tails = expand(tail)?;
    Ok(items.iter().flat_map(|i| tails.iter().map(move |t| format!("{head}{i}{t}"))).collect())
}

fn single_letter(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next().filter(char::is_ascii_alphabetic)?;
    chars.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "\
# A Pi cluster as its owner keeps it for Ansible.
bastion.lan ansible_user=admin

[pi4]
pi4-[01:03] ansible_user=pi
pi4-04 ansible_host=10.0.0.44 ansible_port=2222

[pi5]
pi5-a ansible_host=10.0.0.51
pi5-b:2200 ansible_host=\"10.0.0.52\"

[pi5:vars]
ansible_user=ubuntu
ansible_ssh_private_key_file=~/.ssh/pi5 key

[lab:children]
pi4
pi5

[lab:vars]
ansible_user=lab
ansible_port=22

[all:vars]
ansible_user=root
";

    #[test]
    fn a_pi_clusters_inventory_resolves_as_ansible_does() {
        let inv = Inventory::parse(CLUSTER).unwrap();
        let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["bastion.lan", "pi4-01", "pi4-02", "pi4-03", "pi4-04", "pi5-a", "pi5-b"]);
        let host = |n: &str| inv.hosts.iter().find(|h| h.name == n).unwrap();
        // Host variables win over every group's.
        assert_eq!(host("pi4-01").destination(), "pi@pi4-01");
        assert_eq!(host("pi4-01").port, Some(22));
        assert_eq!(host("pi4-04").destination(), "lab@10.0.0.44");
        assert_eq!(host("pi4-04").port, Some(2222));
        // The child group's variables win over its parent's, which win over all's.
        assert_eq!(host("pi5-a").destination(), "ubuntu@10.0.0.51");
        assert_eq!(host("pi5-a").identity, Some(PathBuf::from("~/.ssh/pi5 key")));
        assert_eq!(host("pi5-b").port, Some(2200));
        assert_eq!(host("pi5-b").address, "10.0.0.52");
        assert_eq!(host("bastion.lan").destination(), "admin@bastion.lan");
        assert_eq!(host("bastion.lan").groups, ["all", "ungrouped"]);
        assert_eq!(host("pi5-a").groups, ["all", "lab", "pi5"]);
    }

    #[test]
    fn limits_pick_groups_and_hosts() {
        let inv = Inventory::parse(CLUSTER).unwrap();
        let names = |p: &str| inv.select(Some(p)).unwrap().iter().map(|h| h.name.clone()).collect::<Vec<_>>();
        assert_eq!(names("pi5"), ["pi5-a", "pi5-b"]);
        assert_eq!(names("lab").len(), 6);
        assert_eq!(names("pi4-02,pi5-b"), ["pi4-02", "pi5-b"]);
        assert_eq!(names("all").len(), 7);
        assert_eq!(inv.select(None).unwrap().len(), 7);
        let err = inv.select(Some("pi3")).unwrap_err();
        assert!(err.contains("\"pi3\"") && err.contains("lab, pi4, pi5"), "{err}");
    }

    #[test]
    fn ranges_expand_with_padding_letters_and_strides() {
        assert_eq!(expand("n[1:3]").unwrap(), ["n1", "n2", "n3"]);
        assert_eq!(expand("n[08:10].lan").unwrap(), ["n08.lan", "n09.lan", "n10.lan"]);
        assert_eq!(expand("r[a:c]").unwrap(), ["ra", "rb", "rc"]);
        assert_eq!(expand("n[0:6:3]").unwrap(), ["n0", "n3", "n6"]);
        assert_eq!(expand("r[1:2]c[a:b]").unwrap(), ["r1ca", "r1cb", "r2ca", "r2cb"]);
        for bad in ["n[1:", "n[3:1]", "n[1:2:0]", "n[a:7]", "n[1]", "n[0:99999999]"] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mistakes_name_their_line() {
        for (text, what) in [
            ("[pi4\nx\n", "line 1: unclosed"),
            ("[pi4:hosts]\n", "line 1: unknown section kind"),
            ("[pi4:vars]\nnot a pair\n", "line 2: expected key=value"),
            ("pi ansible_port=ssh\n", "ansible_port \"ssh\""),
            ("pi 'unbalanced\n", "line 1: unbalanced quotes"),
            ("pi user\n", "line 1: expected key=value"),
        ] {
            let err = Inventory::parse(text).unwrap_err();
            assert!(err.contains(what), "{text:?}: {err}");
        }
    }
}
