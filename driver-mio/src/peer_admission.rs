//! Who may open a cluster link. With a `clusterSecret`, anyone may connect, and a hello
//! without the secret is dropped. Without one, the empty secret would match anyone's, so
//! only loopback and the addresses the configured `clusterNodes` resolve to are let in:
//! a node on an open network is not a replica-for-the-asking of any stranger.

use std::net::{IpAddr, ToSocketAddrs};

use bucket_core::Member;

/// How often, at most, the members' names are resolved again when a link comes from
/// an address not among them (a member's address may have changed; a stranger must not
/// make the loop resolve names at its pace).
const RESOLVE_INTERVAL_MS: u64 = 10_000;

pub struct Admission {
    /// `None`: a secret is set, so the hello decides.
    members: Option<Vec<String>>,
    addresses: Vec<IpAddr>,
    resolved_at_ms: Option<u64>,
}

impl Admission {
    pub fn new(members: &[Member], secret_set: bool) -> Admission {
        let mut admission = Admission {
            members: (!secret_set)
                .then(|| members.iter().map(|m| m.cluster_addr.clone()).collect()),
            addresses: Vec::new(),
            resolved_at_ms: None,
        };
        admission.resolve(0);
        admission
    }

    /// Whether a link from `ip` may go on to its hello.
    pub fn admits(&mut self, ip: IpAddr, now_ms: u64) -> bool {
        if self.members.is_none() || ip.is_loopback() || self.addresses.contains(&ip) {
            return true;
        }
        let stale = self
            .resolved_at_ms
            .is_none_or(|at| now_ms >= at + RESOLVE_INTERVAL_MS);
        if stale {
            self.resolve(now_ms);
        }
        self.addresses.contains(&ip)
    }

    fn resolve(&mut self, now_ms: u64) {
        let Some(members) = &self.members else {
            return;
        };
        self.resolved_at_ms = Some(now_ms);
        self.addresses = members
            .iter()
            .filter_map(|addr| addr.to_socket_addrs().ok())
            .flatten()
            .map(|socket| socket.ip())
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(cluster_addr: &str) -> Member {
        Member {
            client_addr: "127.0.0.1:6379".to_string(),
            cluster_addr: cluster_addr.to_string(),
        }
    }

    #[test]
    fn without_a_secret_only_loopback_and_members_are_admitted() {
        let members = [member("10.1.2.3:16379"), member("localhost:16380")];
        let mut admission = Admission::new(&members, false);
        assert!(admission.admits("127.0.0.1".parse().unwrap(), 0));
        assert!(admission.admits("::1".parse().unwrap(), 0));
        assert!(admission.admits("10.1.2.3".parse().unwrap(), 0));
        assert!(!admission.admits("10.9.9.9".parse().unwrap(), 0));
        assert!(!admission.admits("192.168.0.7".parse().unwrap(), 20_000));
    }

    #[test]
    fn with_a_secret_anyone_may_say_hello() {
        let mut admission = Admission::new(&[member("10.1.2.3:16379")], true);
        assert!(admission.admits("10.9.9.9".parse().unwrap(), 0));
    }
}
