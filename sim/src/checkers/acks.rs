//! Ack accounting: what a master believes a replica holds comes from that replica, in
//! the session the master feeds it on. A replica's AOF can shrink between sessions (a
//! crash loses an unsynced tail, a new master cuts a diverged suffix), so an ack of an
//! older session, arriving late, may claim bytes the replica no longer has; counted,
//! it would let `WAIT` or a majority commit rest on data that is gone.
//!
//! The checker notes every handshake offset a master accepts (`SyncAccept`) and every
//! end a replica acks, per (replica, session), and after each step of a master checks
//! that each replica's acked offset is one of those.

use std::collections::BTreeMap;

use bucket_core::peer::Message;
use bucket_core::status::ReplicaStatus;

use super::Violation;

pub const NAME: &str = "ack accounting";

#[derive(Default)]
pub struct AckLedger {
    /// (replica, session) -> the highest offset it was vouched for in that session: the
    /// handshake's offset, or an end the replica acked.
    vouched: BTreeMap<(usize, u64), u64>,
}

impl AckLedger {
    /// A frame `from` sent to `to`: note handshakes and acks.
    pub fn observe_sent(&mut self, from: usize, to: usize, message: &Message<'_>) {
        let (replica, session, offset) = match *message {
            Message::SyncAccept {
                session, offset, ..
            } => (to, session, offset),
            Message::Ack { session, end, .. } => (from, session, end),
            _ => return,
        };
        let vouched = self.vouched.entry((replica, session)).or_insert(0);
        *vouched = (*vouched).max(offset.0);
    }

    /// After a step of `master`: every replica it feeds holds what it is counted for.
    pub fn check(&self, master: usize, replicas: &[ReplicaStatus]) -> Result<(), Violation> {
        for replica in replicas {
            let node = replica.node.0 as usize;
            let vouched = self.vouched.get(&(node, replica.session)).copied();
            if vouched.is_none_or(|v| replica.acked.0 > v) {
                return Err(Violation::new(
                    NAME,
                    format!(
                        "master {master} counts replica {node} at offset {} in session {:x}, which it never acked there (vouched: {vouched:?})",
                        replica.acked.0, replica.session
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bucket_core::{NodeId, Offset, Term};

    fn status(node: u32, session: u64, acked: u64) -> ReplicaStatus {
        ReplicaStatus {
            node: NodeId(node),
            session,
            acked: Offset(acked),
            lag_ms: 0,
            state: "online",
        }
    }

    fn ack(session: u64, end: u64) -> Message<'static> {
        Message::Ack {
            term: Term(1),
            session,
            end: Offset(end),
        }
    }

    #[test]
    fn an_ack_from_another_session_fires() {
        let mut ledger = AckLedger::default();
        ledger.observe_sent(1, 0, &ack(7, 500));
        let accept = Message::SyncAccept {
            term: Term(1),
            session: 8,
            master_id: bucket_core::MasterId(3),
            kind: bucket_core::peer::SyncKind::Partial,
            offset: Offset(300),
        };
        ledger.observe_sent(0, 1, &accept);
        ledger.check(0, &[status(1, 8, 300)]).unwrap();
        let error = ledger.check(0, &[status(1, 8, 500)]).unwrap_err();
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn acks_of_the_current_session_pass() {
        let mut ledger = AckLedger::default();
        ledger.observe_sent(2, 0, &ack(9, 100));
        ledger.observe_sent(2, 0, &ack(9, 250));
        ledger.check(0, &[status(2, 9, 250)]).unwrap();
        assert!(
            ledger.check(0, &[status(2, 10, 0)]).is_err(),
            "no handshake"
        );
    }
}
