//! Elections and reigns: PreVote, votes granted once per term to an up-to-date log,
//! leader stickiness, heartbeats, CheckQuorum, and the start of each master's reign.

use rand_core::RngCore;

use super::{log, Node};
use crate::aof::record::Effect;
use crate::ids::{MasterId, NodeId, Offset, Term};
use crate::meta::Reign;
use crate::output::{LogLevel, Output};
use crate::peer::{self, Message};
use crate::status::Role;
use crate::time::Instant;

impl Node {
    fn others(&self) -> impl Iterator<Item = NodeId> + '_ {
        let me = self.config.self_id;
        (0..self.config.members.len() as u32)
            .map(NodeId)
            .filter(move |&id| id != me)
    }

    pub(super) fn send(&self, peer: NodeId, message: &Message<'_>, out: &mut Vec<Output>) {
        debug_assert_ne!(peer, self.config.self_id);
        out.push(Output::Send {
            peer,
            frame: peer::encode(message),
        });
    }

    /// A fresh randomized election timeout. A one-node cluster elects itself at once.
    pub(super) fn reset_election_deadline(&mut self) {
        let min = self.config.election_timeout_ms_min;
        let max = self.config.election_timeout_ms_max;
        debug_assert!(min < max, "validated in Config::validate");
        let timeout = match self.config.members.len() {
            1 => 0,
            _ => min + self.rng.next_u64() % (max - min),
        };
        self.election_deadline = self.now.instant.add_ms(timeout);
    }

    pub(super) fn on_election_timeout(&mut self, out: &mut Vec<Output>) {
        assert_ne!(self.status.role, Role::Master);
        if self.is_receiving_base() {
            // No master finished feeding this node its base: rebuild the keyspace from
            // the files, which are still whole, and stand after that.
            self.drop_base_receive(out);
        }
        if self.rebuild.is_some() {
            // A keyspace that is only part of the AOF's replay must never serve as a
            // master's: wait for the rebuild before standing.
            self.reset_election_deadline();
            return;
        }
        match self.config.members.len() {
            1 => self.start_election(out),
            _ => self.start_pre_vote(out),
        }
    }

    /// Ask whether this node could win, without raising anyone's term: a node that
    /// cannot win (its log is behind, or a master is alive) never disrupts the cluster.
    fn start_pre_vote(&mut self, out: &mut Vec<Output>) {
        self.status.role = Role::PreCandidate;
        self.forget_master();
        self.votes = vec![self.config.self_id];
        self.reset_election_deadline();
        self.request_votes(out);
    }

    /// Ask every member that has not granted this candidacy its vote yet. Repeated at
    /// the heartbeat interval, so a request lost with a reset link is asked again.
    fn request_votes(&mut self, out: &mut Vec<Output>) {
        let pre_vote = self.status.role == Role::PreCandidate;
        assert!(pre_vote || self.status.role == Role::Candidate);
        let term = if pre_vote {
            Term(self.meta.term.0 + 1)
        } else {
            self.meta.term
        };
        let request = Message::RequestVote {
            term,
            pre_vote,
            last_term: self.aof.last_term,
            end: self.aof.end,
        };
        let frame = peer::encode(&request);
        for peer in self.others().filter(|p| !self.votes.contains(p)) {
            out.push(Output::Send {
                peer,
                frame: frame.clone(),
            });
        }
        self.heartbeat_deadline = self.now.instant.add_ms(self.config.heartbeat_ms);
    }

    pub(super) fn on_vote_retry_timeout(&mut self, out: &mut Vec<Output>) {
        self.request_votes(out);
    }

    /// Raise the term, vote for itself (durably, before asking anyone), and ask.
    fn start_election(&mut self, out: &mut Vec<Output>) {
        self.meta.term = Term(self.meta.term.0 + 1);
        self.meta.voted_for = Some(self.config.self_id);
        self.status.role = Role::Candidate;
        self.forget_master();
        self.votes = vec![self.config.self_id];
        self.persist_meta(out);
        self.reset_election_deadline();
        log(
            out,
            LogLevel::Info,
            format!("election started for term {}", self.meta.term.0),
        );
        if self.votes.len() >= self.config.quorum() {
            self.become_master(out);
            return;
        }
        self.request_votes(out);
    }

    fn forget_master(&mut self) {
        self.status.master = None;
        self.master_heard_at = None;
        self.upstream = None;
        self.status.master_link_up = false;
    }

    /// Whether a master of the current term is known to be alive: then this node
    /// neither grants votes nor adopts a candidate's term (leader stickiness), which is
    /// what keeps the master's read lease sound.
    fn master_is_fresh(&self) -> bool {
        let min_ms = self.config.election_timeout_ms_min;
        match self.status.role {
            Role::Master => self
                .lease_start()
                .is_some_and(|start| start.add_ms(self.lease_ms()) > self.now.instant),
            // A node that just started may have acked a master's heartbeat in its last
            // life, and counted toward that master's lease: it forgot when, so it
            // waits out one election timeout from its start before it votes.
            _ => {
                let started_at = match self.planted_restarted_node_votes_at_once() {
                    true => None,
                    false => self.stats.started_at,
                };
                self.master_heard_at
                    .or(started_at)
                    .is_some_and(|at| self.now.instant.since(at) < min_ms)
            }
        }
    }

    pub(super) fn on_request_vote(
        &mut self,
        from: NodeId,
        term: Term,
        pre_vote: bool,
        candidate_log: (Term, Offset),
        out: &mut Vec<Output>,
    ) {
        let log_ok = candidate_log >= (self.aof.last_term, self.aof.end)
            || self.planted_vote_without_log_check();
        let fresh = self.master_is_fresh();
        if pre_vote {
            let granted = term > self.meta.term && log_ok && !fresh;
            let term = if granted { term } else { self.meta.term };
            self.send(
                from,
                &Message::Vote {
                    term,
                    pre_vote,
                    granted,
                },
                out,
            );
            return;
        }
        if fresh {
            let reply = Message::Vote {
                term: self.meta.term,
                pre_vote,
                granted: false,
            };
            self.send(from, &reply, out);
            return;
        }
        let persists_from = out.len();
        let newer_term = term > self.meta.term;
        if newer_term {
            self.enter_term(term, out);
        }
        let free = self.meta.voted_for.is_none_or(|v| v == from);
        let granted = term == self.meta.term && free && log_ok;
        if granted {
            assert_ne!(
                self.status.role,
                Role::Master,
                "a master never votes for another"
            );
            self.meta.voted_for = Some(from);
            self.reset_election_deadline();
        }
        // One write covers both the new term and the vote in it: each is on disk before
        // the reply states it. (Planted bug: neither is.)
        if (newer_term || granted) && !self.planted_vote_not_persisted() {
            self.persist_meta(out);
        }
        let reply = Message::Vote {
            term: self.meta.term,
            pre_vote,
            granted,
        };
        self.send(from, &reply, out);
        if granted && self.planted_vote_sent_before_persist() {
            // Planted bug: the vote goes out ahead of the metadata that records it.
            out[persists_from..].rotate_right(1);
        }
    }

    pub(super) fn on_vote(
        &mut self,
        from: NodeId,
        term: Term,
        pre_vote: bool,
        granted: bool,
        out: &mut Vec<Output>,
    ) {
        let (role, term_wanted) = match pre_vote {
            true => (Role::PreCandidate, Term(self.meta.term.0 + 1)),
            false => (Role::Candidate, self.meta.term),
        };
        if !granted || self.status.role != role || term != term_wanted {
            return;
        }
        if !self.votes.contains(&from) {
            self.votes.push(from);
        }
        if self.votes.len() < self.config.quorum() {
            return;
        }
        match pre_vote {
            true => self.start_election(out),
            false => self.become_master(out),
        }
    }

    /// A newer term exists: follow it, with no vote cast in it yet, durably.
    pub(super) fn adopt_term(&mut self, term: Term, out: &mut Vec<Output>) {
        self.enter_term(term, out);
        self.persist_meta(out);
    }

    /// Follow a newer term in memory; the caller persists it before anything says so.
    fn enter_term(&mut self, term: Term, out: &mut Vec<Output>) {
        assert!(term > self.meta.term, "terms only grow");
        // Before the term moves on, so that the log names the term this node led.
        if self.status.role != Role::Replica {
            self.step_down(out);
        }
        self.meta.term = term;
        self.meta.voted_for = None;
        self.forget_master();
    }

    /// Stop being master or candidate.
    pub(super) fn step_down(&mut self, out: &mut Vec<Output>) {
        if self.status.role == Role::Master {
            log(
                out,
                LogLevel::Warn,
                format!("stepped down as master of term {}", self.meta.term.0),
            );
        }
        self.status.role = Role::Replica;
        self.status.master = None;
        self.progress.clear();
        self.votes.clear();
        self.heartbeat_deadline = Instant(u64::MAX);
        self.reset_election_deadline();
    }

    pub(super) fn become_master(&mut self, out: &mut Vec<Output>) {
        assert_eq!(
            self.meta.voted_for,
            Some(self.config.self_id),
            "a master voted for itself"
        );
        assert!(
            self.votes.len() >= self.config.quorum(),
            "a master won a majority"
        );
        assert!(
            self.meta
                .reigns
                .last()
                .is_none_or(|r| r.term < self.meta.term),
            "one reign per term"
        );
        let term = self.meta.term;
        let master_id = MasterId(self.rng.next_u64() | 1);
        self.meta.last_master_id = self.meta.current_master_id;
        self.meta.current_master_id = master_id;
        self.meta.reigns.push(Reign {
            master_id,
            term,
            start: self.aof.end,
        });
        self.persist_meta(out);
        self.status.role = Role::Master;
        self.status.master = Some(self.config.self_id);
        self.master_since = self.now.instant;
        self.election_deadline = Instant(u64::MAX);
        self.progress.clear();
        self.peers.iter_mut().for_each(|p| {
            p.heartbeat_acked_sent_at = None;
            p.unanswered_since = None;
        });
        self.backlog.reset(self.aof.end);
        self.status.commit = self.status.commit.min(self.aof.end);
        self.commit_inherited = self.status.commit;
        log(
            out,
            LogLevel::Info,
            format!(
                "became master in term {} with master id {master_id}",
                term.0
            ),
        );
        self.log_effect(Effect::ReignStart { master_id });
        self.heartbeat_deadline = self.now.instant;
    }

    pub(super) fn on_heartbeat_timeout(&mut self, out: &mut Vec<Output>) {
        assert_eq!(self.status.role, Role::Master);
        if !self.has_quorum_contact() {
            let message = format!(
                "lost contact with a majority ({})",
                self.last_heard_report()
            );
            log(out, LogLevel::Warn, message);
            self.step_down(out);
            return;
        }
        for peer in self.others().collect::<Vec<_>>() {
            self.send_heartbeat(peer, out);
        }
        self.heartbeat_deadline = self.now.instant.add_ms(self.config.heartbeat_ms);
    }

    /// CheckQuorum: a master whose heartbeats a majority has left unanswered for an
    /// election timeout steps down, so an isolated master stops taking writes. Silence
    /// counts from the first unanswered heartbeat, not from the last frame heard:
    /// a master whose own loop stalled (starved of CPU, or waiting on the disk) sent
    /// nothing meanwhile, so its replicas had nothing to answer, and stepping down on
    /// waking would only cost a spurious failover.
    fn has_quorum_contact(&self) -> bool {
        if self.planted_no_check_quorum() {
            return true;
        }
        // No grace period for a new master is needed: `become_master` clears every
        // peer's silence, so the window starts at its first heartbeat.
        let window_ms = self.config.election_timeout_ms_min;
        let now = self.now.instant;
        let answering = |id: &NodeId| {
            self.peers[id.0 as usize]
                .unanswered_since
                .is_none_or(|since| now.since(since) < window_ms)
        };
        let answering = self.others().filter(answering).count();
        answering + 1 >= self.config.quorum()
    }

    /// When each peer was last heard, for the operator: "node localhost:16555 heard
    /// 412 ms ago, ...".
    fn last_heard_report(&self) -> String {
        let heard = |id: NodeId| {
            let name = self.status.node_name(id);
            match self.peers[id.0 as usize].last_heard {
                Some(t) => format!("node {name} heard {} ms ago", self.now.instant.since(t)),
                None => format!("node {name} never heard"),
            }
        };
        self.others().map(heard).collect::<Vec<_>>().join(", ")
    }

    /// If a `WAIT` blocked in this step, heartbeat every replica now, which answers
    /// with an ack (Redis's `REPLCONF GETACK`): in async mode replicas otherwise report
    /// only on the regular heartbeats.
    pub(super) fn request_acks(&mut self, out: &mut Vec<Output>) {
        if std::mem::take(&mut self.acks_wanted) && self.status.role == Role::Master {
            for peer in self.others().collect::<Vec<_>>() {
                self.send_heartbeat(peer, out);
            }
        }
    }

    /// A heartbeat the peer has to answer: if it was heard since the last one, its
    /// silence (for CheckQuorum) starts now.
    pub(super) fn send_heartbeat(&mut self, peer: NodeId, out: &mut Vec<Output>) {
        let now = self.now.instant;
        self.peers[peer.0 as usize]
            .unanswered_since
            .get_or_insert(now);
        let heartbeat = Message::Heartbeat {
            term: self.meta.term,
            master_id: self.meta.current_master_id,
            commit: self.status.commit,
            sent_at_ms: self.now.instant.0,
            session: self.progress.get(&peer).map_or(0, |p| p.session),
        };
        self.send(peer, &heartbeat, out);
    }

    pub(super) fn on_heartbeat(
        &mut self,
        from: NodeId,
        term: Term,
        master_id: MasterId,
        commit: Offset,
        (sent_at, session): (Instant, u64),
        out: &mut Vec<Output>,
    ) {
        if term < self.meta.term {
            self.send(
                from,
                &Message::DenyHeartbeat {
                    term: self.meta.term,
                },
                out,
            );
            return;
        }
        assert_eq!(term, self.meta.term, "a newer term was adopted on receipt");
        if self.status.role == Role::Master {
            // Election safety makes this impossible among honest nodes, so the peer is
            // broken or hostile: refuse it rather than give up the reign or crash.
            let message = format!(
                "node {} claims to be master in my term {}",
                self.status.node_name(from),
                term.0
            );
            log(out, LogLevel::Error, message);
            out.push(Output::ResetPeer { peer: from });
            return;
        }
        if self.status.role != Role::Replica {
            self.step_down(out);
        }
        self.status.master = Some(from);
        self.master_heard_at = Some(self.now.instant);
        self.reset_election_deadline();
        if master_id != self.meta.current_master_id {
            // The seed's rule: the old current-master-id becomes last-master-id.
            self.meta.last_master_id = self.meta.current_master_id;
            self.meta.current_master_id = master_id;
            self.persist_meta(out);
        }
        self.send(
            from,
            &Message::HeartbeatAck {
                term,
                sent_at_ms: sent_at.0,
            },
            out,
        );
        self.follow(from, session, out);
        self.ack_heartbeat(from, session, out);
        self.learn_commit(from, commit);
    }

    /// Take the master's commit offset, but only while fed live by it: until the
    /// handshake is done, this node's tail may be a suffix the master never had.
    fn learn_commit(&mut self, master: NodeId, commit: Offset) {
        let live = self
            .upstream
            .as_ref()
            .is_some_and(|u| u.master == master && u.is_live());
        if live {
            self.status.commit = self.status.commit.max(commit.min(self.aof.end));
        }
    }

    pub(super) fn on_heartbeat_ack(&mut self, from: NodeId, term: Term, sent_at: Instant) {
        if self.status.role != Role::Master || term != self.meta.term {
            return;
        }
        let acked = &mut self.peers[from.0 as usize].heartbeat_acked_sent_at;
        *acked = Some(acked.map_or(sent_at, |a| a.max(sent_at)));
        // The lease may have grown: held reads waiting for the reign may go.
        self.held_index.reign_news = true;
    }

    /// The latest send time of a heartbeat that a majority (this master included) has
    /// acknowledged: the master's reign was certain at that instant.
    pub(super) fn lease_start(&self) -> Option<Instant> {
        let mut starts: Vec<Instant> = vec![self.now.instant];
        starts.extend(
            self.others()
                .filter_map(|id| self.peers[id.0 as usize].heartbeat_acked_sent_at),
        );
        let quorum = self.config.quorum();
        if starts.len() < quorum {
            return None;
        }
        starts.sort_unstable_by(|a, b| b.cmp(a));
        Some(starts[quorum - 1])
    }

    /// Whether this master is known to reign at some instant at or after `since`:
    /// by a heartbeat round sent after it, or by a lease that has not run out.
    pub(super) fn reign_confirmed_since(&self, since: Instant) -> bool {
        if self.planted_stale_read() {
            return true;
        }
        if self.status.role != Role::Master {
            return false;
        }
        if self.planted_lease_read_without_lease() {
            return true;
        }
        let lease_ms = self.lease_ms();
        self.lease_start()
            .is_some_and(|start| start >= since || start.add_ms(lease_ms) > self.now.instant)
    }

    /// How long a lease lasts on this node's clock. A replica that acked refuses votes
    /// for `election_timeout_ms_min` on its own clock; with each clock off real time by
    /// at most `CLOCK_DRIFT_PPM_MAX`, the lease must end earlier by the factor
    /// `(1 - d) / (1 + d)` to end before any such replica gives its vote away.
    pub(super) fn lease_ms(&self) -> u64 {
        const PPM: u64 = 1_000_000;
        let drift = crate::config::CLOCK_DRIFT_PPM_MAX;
        if self.planted_lease_without_drift_margin() {
            return self.config.election_timeout_ms_min;
        }
        let lease_ms = self.config.election_timeout_ms_min * (PPM - drift) / (PPM + drift);
        debug_assert!(lease_ms < self.config.election_timeout_ms_min);
        lease_ms
    }
}
