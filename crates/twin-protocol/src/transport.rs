//! Where plaintext is allowed: only to and on this machine's own addresses, unless a config or flag says
//! otherwise in so many words. Everywhere else the protocol runs over TLS (`wss://`, `https://`).

/// Whether a host (a name, an IP address, `[v6]`, with or without `:port`) is this machine: `localhost`,
/// 127.0.0.0/8 or ::1.
pub fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        // A bare IPv6 address has several colons and no port.
        None if host_port.matches(':').count() > 1 => host_port,
        None => host_port.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL's host is this machine (see [`is_loopback`]); user information before `@` is not the host.
pub fn is_loopback_url(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    is_loopback(authority.rsplit_once('@').map_or(authority, |(_, h)| h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "ws://127.0.0.1:7878/v1/session",
            "ws://localhost/v1/session",
            "ws://[::1]:7878/v1/session",
            "ws://127.8.0.1:1/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "ws://192.168.1.20:7878/v1/session",
            "ws://twin.example.com/v1/session",
            "ws://localhost.example.com/",
            "ws://127.0.0.1@evil.example/",
            "ws://[::]:7878/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
        assert!(is_loopback("127.0.0.1:0") && is_loopback("::1") && is_loopback("[::1]:80"));
        assert!(!is_loopback("0.0.0.0:7878") && !is_loopback("[::]:7878"));
    }
}
