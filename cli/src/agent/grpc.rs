//! Parca's `ProfileStoreService.WriteRaw` over gRPC, as parca-agent sends it: one unary call per
//! window over HTTP/2, in clear text (`http://`, h2c with prior knowledge) or TLS (`https://`,
//! ALPN `h2`, trusting what [`super::tls`] trusts). Each call opens its own
//! connection on a current-thread tokio runtime owned by the pusher's thread: a window every ten
//! seconds does not need a pool, and a connection never outlives a server restart.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

/// The method's path.
pub const WRITE_RAW: &str = "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw";

/// `parca.profilestore.v1alpha1` messages, as its `profilestore.proto` numbers their fields.
mod proto {
    /// A request: series of labelled raw profiles.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRawRequest {
        /// Deprecated by Parca; left empty.
        #[prost(string, tag = "1")]
        pub tenant: String,
        /// The profiles and their labels.
        #[prost(message, repeated, tag = "2")]
        pub series: Vec<RawProfileSeries>,
        /// Whether addresses are already normalized for position-independent code.
        #[prost(bool, tag = "3")]
        pub normalized: bool,
    }

    /// One series: its labels and profiles.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RawProfileSeries {
        /// The series' labels.
        #[prost(message, optional, tag = "1")]
        pub labels: Option<LabelSet>,
        /// Its profiles.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<RawSample>,
    }

    /// Labels of a series.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LabelSet {
        /// The labels.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
    }

    /// One label.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// Its name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Its value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// One profile.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RawSample {
        /// A pprof profile, gzipped as written.
        #[prost(bytes = "vec", tag = "1")]
        pub raw_profile: Vec<u8>,
    }
}

/// A WriteRaw call's message, framed as gRPC frames a message: not compressed, its length in four
/// big-endian bytes, then the protobuf.
pub fn write_raw_message(labels: &[(String, String)], pprof: &[u8]) -> Bytes {
    use prost::Message;
    let request = proto::WriteRawRequest {
        tenant: String::new(),
        series: vec![proto::RawProfileSeries {
            labels: Some(proto::LabelSet {
                labels: labels
                    .iter()
                    .map(|(name, value)| proto::Label { name: name.clone(), value: value.clone() })
                    .collect(),
            }),
            samples: vec![proto::RawSample { raw_profile: pprof.to_vec() }],
        }],
        normalized: true,
    };
    let body = request.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    Bytes::from(framed)
}

/// What a call sends besides the message.
pub struct Call<'a> {
    /// The server (`http://parca:7070`, `https://grpc.example:443`).
    pub url: &'a str,
    /// `authorization` metadata (`Bearer ...`).
    pub authorization: Option<&'a str>,
    /// `x-scope-orgid` metadata, for a multi-tenant server.
    pub tenant: Option<&'a str>,
    /// How long the call may take in all (connecting included); sent as `grpc-timeout` too.
    pub timeout: Duration,
    /// Whom an `https://` server must prove to be (offering ALPN `h2`).
    pub tls: &'a Arc<tokio_rustls::rustls::ClientConfig>,
}

/// Calls WriteRaw with `message` (see [`write_raw_message`]); `Err` says what failed, as the
/// agent's log shows it.
pub fn call(call: &Call, message: Bytes) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("starting the gRPC client: {e}"))?;
    let url = call.url;
    runtime.block_on(async {
        match tokio::time::timeout(call.timeout, unary(call, message)).await {
            Ok(result) => result.map_err(|e| format!("{url}: {e}")),
            Err(_) => Err(format!("{url}: no answer within {:?}", call.timeout)),
        }
    })
}

async fn unary(call: &Call<'_>, message: Bytes) -> Result<(), String> {
    let uri: http::Uri = call.url.parse().map_err(|e| format!("not a URL ({e})"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err("the URL must start with http:// (h2c) or https://".into()),
    };
    let host = uri.host().ok_or("the URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("connecting: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    let scheme = if tls { "https" } else { "http" };
    if tls {
        let stream = tls_connect(call.tls, &host, tcp).await?;
        exchange(stream, scheme, &authority, call, message).await
    } else {
        exchange(tcp, scheme, &authority, call, message).await
    }
}

async fn tls_connect(
    config: &Arc<tokio_rustls::rustls::ClientConfig>,
    host: &str,
    tcp: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let name =
        tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| format!("TLS: {e}"))?;
    tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))
}

/// One unary call on a new HTTP/2 connection over `io`.
async fn exchange<S>(io: S, scheme: &str, authority: &str, call: &Call<'_>, message: Bytes) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = h2::client::handshake(io).await.map_err(|e| format!("HTTP/2: {e}"))?;
    // The connection is driven beside the call; it ends when the client is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.map_err(|e| format!("HTTP/2: {e}"))?;
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("{scheme}://{authority}{WRITE_RAW}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", concat!("armtune/", env!("CARGO_PKG_VERSION")))
        .header("grpc-timeout", format!("{}m", call.timeout.as_millis().clamp(1, 99_999_999)));
    if let Some(auth) = call.authorization {
        request = request.header("authorization", auth);
    }
    if let Some(tenant) = call.tenant {
        request = request.header("x-scope-orgid", tenant);
    }
    let request = request.body(()).map_err(|e| format!("building the request: {e}"))?;
    let (response, mut send) = client.send_request(request, false).map_err(|e| format!("HTTP/2: {e}"))?;
    send.send_data(message, true).map_err(|e| format!("HTTP/2: {e}"))?;
    let response = response.await.map_err(|e| format!("HTTP/2: {e}"))?;
    let (head, mut body) = response.into_parts();
    if head.status != http::StatusCode::OK {
        return Err(format!("HTTP {} (is this a gRPC server?)", head.status.as_u16()));
    }
    // A call that fails at once answers with headers only ("trailers-only").
    if head.headers.contains_key("grpc-status") {
        return status_of(&head.headers);
    }
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| format!("HTTP/2: {e}"))?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    match body.trailers().await.map_err(|e| format!("HTTP/2: {e}"))? {
        Some(trailers) => status_of(&trailers),
        None => Err("the server ended the call without a gRPC status".into()),
    }
}

/// The call's outcome from its `grpc-status` and `grpc-message`.
fn status_of(headers: &http::HeaderMap) -> Result<(), String> {
    let code = headers.get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("2");
    if code == "0" {
        return Ok(());
    }
    let message = headers.get("grpc-message").and_then(|v| v.to_str().ok()).map(percent_decode).unwrap_or_default();
    Err(format!("gRPC status {code} ({}): {message}", code_name(code)))
}

/// gRPC's names for its status codes.
fn code_name(code: &str) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    code.parse::<usize>().ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("UNKNOWN")
}

/// `grpc-message` is percent-encoded.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_framed_and_encoded_as_profilestore_proto_numbers_it() {
        let labels = vec![("__name__".to_string(), "process_cpu".to_string())];
        let framed = write_raw_message(&labels, b"PPROF");
        assert_eq!(framed[0], 0, "not compressed");
        assert_eq!(u32::from_be_bytes(framed[1..5].try_into().unwrap()) as usize, framed.len() - 5);
        // series (2) { labels (1) { labels (1) { name (1), value (2) } }, samples (2) { raw_profile (1) } },
        // normalized (3) = true
        let expected: Vec<u8> = [
            vec![0x12, 36, 0x0a, 25, 0x0a, 23, 0x0a, 8],
            b"__name__".to_vec(),
            vec![0x12, 11],
            b"process_cpu".to_vec(),
            vec![0x12, 7, 0x0a, 5],
            b"PPROF".to_vec(),
            vec![0x18, 1],
        ]
        .concat();
        assert_eq!(&framed[5..], expected.as_slice());
    }

    #[test]
    fn statuses_are_named_and_their_messages_decoded() {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-status", "0".parse().unwrap());
        assert_eq!(status_of(&headers), Ok(()));
        headers.insert("grpc-status", "14".parse().unwrap());
        headers.insert("grpc-message", "starting%20up".parse().unwrap());
        assert_eq!(status_of(&headers), Err("gRPC status 14 (UNAVAILABLE): starting up".into()));
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn a_url_without_a_server_is_a_clear_error() {
        let tls = super::super::tls::client_config(None, &[b"h2"]).unwrap();
        let call =
            Call { url: "ftp://x", authorization: None, tenant: None, timeout: Duration::from_secs(1), tls: &tls };
        let err = super::call(&call, Bytes::new()).unwrap_err();
        assert!(err.contains("http:// (h2c) or https://"), "{err}");
        // Nothing listens on port 1 of loopback.
        let call = Call { url: "http://127.0.0.1:1", ..call };
        let err = super::call(&call, Bytes::new()).unwrap_err();
        assert!(err.contains("connecting"), "{err}");
    }
}
