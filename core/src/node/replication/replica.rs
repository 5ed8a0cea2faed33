//! The replica's side: ask the master for a feed, cut a diverged suffix (rebuilding the
//! keyspace from what remains), apply records in order, and ack.

use rand_core::RngCore;

use crate::aof::record::{self, DecodeError, Effect};
use crate::aof::replay;
use crate::config::WriteQuorum;
use crate::ids::{MasterId, NodeId, Offset, Term};
use crate::meta::Reign;
use crate::node::{log, Node};
use crate::output::{LogLevel, Output};
use crate::peer::{Message, SyncKind};
use crate::status::Role;
use crate::time::Instant;

#[derive(Debug)]
pub(crate) enum UpstreamState {
    /// A `SyncRequest` is out; waiting for the accept.
    Requested,
    /// Records arrive as the master logs them.
    Live { partial: Vec<u8> },
}

#[derive(Debug)]
pub(crate) struct Upstream {
    pub master: NodeId,
    pub session: u64,
    pub state: UpstreamState,
    pub requested_at: Instant,
    /// When to ask again if the master has not answered.
    pub retry_at: Instant,
    /// When this node last acked on this feed.
    pub acked_at: Instant,
}

impl Upstream {
    pub fn is_live(&self) -> bool {
        matches!(self.state, UpstreamState::Live { .. })
    }
}

/// Why applying a stream of records stopped early.
pub(crate) enum ApplyError {
    Corrupt(&'static str),
}

impl Node {
    /// A heartbeat from `master` names the session it feeds this node with: ask for a
    /// feed if there is none, or if the master has forgotten ours.
    pub(crate) fn follow(&mut self, master: NodeId, session: u64, out: &mut Vec<Output>) {
        let grace_ms = self.config.election_timeout_ms_min;
        let keep = match &self.upstream {
            None => false,
            Some(u) if u.master != master => false,
            Some(u) => match u.state {
                UpstreamState::Live { .. } => {
                    u.session == session || self.now.instant.since(u.requested_at) < grace_ms
                }
                UpstreamState::Requested => true,
            },
        };
        // A rebuilding node asks once its keyspace matches its AOF again.
        if !keep && self.rebuild.is_none() {
            self.request_sync(master, out);
        }
    }

    pub(crate) fn request_sync(&mut self, master: NodeId, out: &mut Vec<Output>) {
        assert_ne!(self.status.role, Role::Master, "a master follows no one");
        if self.drop_base_receive(out) {
            return;
        }
        let session = self.rng.next_u64() | 1;
        let retry_ms = self.config.election_timeout_ms_max;
        self.upstream = Some(Upstream {
            master,
            session,
            state: UpstreamState::Requested,
            requested_at: self.now.instant,
            retry_at: self.now.instant.add_ms(retry_ms),
            acked_at: self.now.instant,
        });
        self.status.master_link_up = false;
        let request = Message::SyncRequest {
            term: self.meta.term,
            session,
            end: self.aof.end,
            reigns: self.meta.reigns.clone(),
        };
        self.send(master, &request, out);
    }

    pub(crate) fn on_sync_retry_timeout(&mut self, out: &mut Vec<Output>) {
        let upstream = self.upstream.take().expect("a retry needs an upstream");
        match upstream.state {
            UpstreamState::Requested => self.request_sync(upstream.master, out),
            _ => {
                self.upstream = Some(Upstream {
                    retry_at: Instant(u64::MAX),
                    ..upstream
                })
            }
        }
    }

    pub(crate) fn on_sync_accept(
        &mut self,
        from: NodeId,
        term: Term,
        session: u64,
        (master_id, kind, offset): (MasterId, SyncKind, Offset),
        out: &mut Vec<Output>,
    ) {
        let expected = self.upstream.as_ref().is_some_and(|u| {
            u.master == from && u.session == session && matches!(u.state, UpstreamState::Requested)
        });
        if !expected || term != self.meta.term || self.status.role != Role::Replica {
            return;
        }
        if offset > self.aof.end && kind != SyncKind::Base {
            log(
                out,
                LogLevel::Warn,
                format!(
                    "master {} sent an impossible resync offset",
                    self.status.node_name(from)
                ),
            );
            self.upstream = None;
            return;
        }
        let message = format!(
            "{} resync from master {} ({master_id}) at offset {}",
            match kind {
                SyncKind::Full => "full",
                SyncKind::Base => "full (from the master's base)",
                SyncKind::Partial => "partial",
            },
            self.status.node_name(from),
            offset.0
        );
        let from_empty = offset == Offset(0) && self.aof.end == Offset(0);
        let level = if from_empty {
            LogLevel::Debug
        } else {
            LogLevel::Info
        };
        log(out, level, message);
        self.status.last_resync = Some(kind);
        if self.cut_would_lose_commits(offset) {
            // Impossible with honest peers (a master holds every committed record):
            // refuse the cut and ask again rather than lose acknowledged writes.
            let message = format!(
                "master {} asked to cut the AOF to {} below the commit offset {}: refused",
                self.status.node_name(from),
                offset.0,
                self.status.commit.0
            );
            log(out, LogLevel::Error, message);
            self.upstream = None;
            return;
        }
        if kind == SyncKind::Base {
            self.begin_base_receive(from, offset, out);
            return;
        }
        if offset < self.compaction.base_offset && offset < self.aof.end {
            // The cut falls inside this node's base, which cannot be cut: drop it all,
            // and ask again as an empty replica. Never in majority mode, where a base
            // holds only committed records and no cut goes below the commit offset.
            debug_assert_ne!(self.config.write_quorum, WriteQuorum::Majority);
            self.truncate_to(Offset(0), out);
            self.upstream = None;
            return;
        }
        if offset < self.aof.end && !self.planted_diverged_suffix_kept() {
            self.truncate_to(offset, out);
            if offset > Offset(0) {
                self.upstream = None;
                self.start_rebuild(offset, out);
                return;
            }
        }
        self.go_live(out);
    }

    pub(super) fn go_live(&mut self, out: &mut Vec<Output>) {
        let upstream = self.upstream.as_mut().expect("live needs an upstream");
        upstream.state = UpstreamState::Live {
            partial: Vec::new(),
        };
        upstream.retry_at = Instant(u64::MAX);
        let (master, session) = (upstream.master, upstream.session);
        self.status.master_link_up = true;
        self.send_ack(master, session, out);
    }

    /// In majority mode a committed record is never cut.
    fn cut_would_lose_commits(&self, offset: Offset) -> bool {
        let majority = self.config.write_quorum == WriteQuorum::Majority;
        majority && offset < self.aof.end && offset < self.status.commit
    }

    /// Cut the AOF back to `offset`: records after it are from a reign the cluster
    /// did not keep.
    pub(crate) fn truncate_to(&mut self, offset: Offset, out: &mut Vec<Output>) {
        assert_ne!(
            self.status.role,
            Role::Master,
            "a master never truncates its own reign"
        );
        assert!(offset < self.aof.end);
        log(
            out,
            LogLevel::Warn,
            format!("truncating the AOF from {} to {}", self.aof.end.0, offset.0),
        );
        assert!(
            offset >= self.compaction.base_offset || offset == Offset(0),
            "a cut inside the base drops it whole"
        );
        self.give_up_rewrite("the AOF was cut", out);
        if offset < self.compaction.base_offset {
            self.forget_base();
        }
        out.push(Output::TruncateAof { offset });
        self.aof.end = offset;
        self.aof.durable_end = self.aof.durable_end.min(offset);
        self.meta.reigns.retain(|r| r.start < offset);
        if !self.planted_last_term_kept_after_cut() {
            // Every record after a reign's start is of that reign's term.
            self.aof.last_term = self.meta.reigns.last().map_or(Term(0), |r| r.term);
        }
        self.status.commit = self.status.commit.min(offset);
        self.backlog.reset(offset);
        self.keyspace.clear();
        self.persist_meta(out);
    }

    pub(crate) fn on_aof_read(
        &mut self,
        peer: NodeId,
        session: u64,
        offset: Offset,
        bytes: &[u8],
        done: bool,
        out: &mut Vec<Output>,
    ) {
        if peer == self.config.self_id {
            self.on_own_aof_read(session, (offset, bytes, done), out);
        } else {
            self.on_aof_read_for_replica(peer, session, (offset, bytes, done), out);
        }
    }

    pub(crate) fn on_data(
        &mut self,
        from: NodeId,
        term: Term,
        session: u64,
        offset: Offset,
        bytes: &[u8],
        out: &mut Vec<Output>,
    ) {
        self.heard_from_master(from, term);
        let aof_end = self.aof.end;
        let lenient = self.planted_diverged_suffix_kept();
        let Some(upstream) = self.upstream.as_mut() else {
            return;
        };
        if upstream.master != from || upstream.session != session || term != self.meta.term {
            return;
        }
        let UpstreamState::Live { partial } = &mut upstream.state else {
            return;
        };
        if offset.0 != aof_end.0 + partial.len() as u64 && !lenient {
            log(
                out,
                LogLevel::Warn,
                format!(
                    "gap in the feed from master {}: asking again",
                    self.status.node_name(from)
                ),
            );
            self.request_sync(from, out);
            return;
        }
        let mut partial = std::mem::take(partial);
        partial.extend_from_slice(bytes);
        self.append_from_master(from, partial, out);
    }

    /// Apply and log every whole record in `buffer`; keep the incomplete rest. The
    /// whole records are checked before any is applied: a bad one (a checksum, a term
    /// from the future or going backwards) drops the batch and the link, so that the
    /// keyspace never holds what the AOF does not.
    fn append_from_master(&mut self, from: NodeId, mut buffer: Vec<u8>, out: &mut Vec<Output>) {
        let start = self.aof.end;
        let terms = (self.aof.last_term, self.meta.term);
        let checked = check_whole_records(&buffer, terms).map(|(whole, last_term)| {
            let mut reigns = Vec::new();
            let applied =
                apply_whole_records(&mut self.keyspace, &buffer[..whole], |at, record| {
                    if let Effect::ReignStart { master_id } = record.effect {
                        reigns.push(Reign {
                            master_id,
                            term: record.term,
                            start: Offset(start.0 + at as u64),
                        });
                    }
                });
            assert_eq!(applied.ok(), Some(whole), "checked records apply whole");
            (whole, last_term, reigns)
        });
        let (used, last_term, reigns) = match checked {
            Ok(checked) => checked,
            Err(ApplyError::Corrupt(reason)) => {
                log(
                    out,
                    LogLevel::Warn,
                    format!(
                        "master {} sent a bad record: {reason}",
                        self.status.node_name(from)
                    ),
                );
                self.upstream = None;
                out.push(Output::ResetPeer { peer: from });
                return;
            }
        };
        let whole: Vec<u8> = buffer.drain(..used).collect();
        if let Some(UpstreamState::Live { partial }) = self.upstream.as_mut().map(|u| &mut u.state)
        {
            *partial = buffer;
        }
        if whole.is_empty() {
            return;
        }
        self.aof.end = Offset(start.0 + whole.len() as u64);
        self.aof.last_term = last_term;
        out.push(Output::AppendAof {
            offset: start,
            bytes: whole,
        });
        self.after_append(out);
        if !reigns.is_empty() {
            self.meta.reigns.extend(reigns);
            self.persist_meta(out);
        }
        // In majority mode each ack may complete a commit, so it goes as soon as the
        // driver reports the records durable (`ack_durable`). In async mode nothing
        // waits on it but `WAIT`, which asks with a heartbeat: acks ride on heartbeats,
        // as Redis replicas ack once a second and on `GETACK`, sparing the master a
        // wakeup per write. But under a flood of records a heartbeat waits behind them
        // on the link, so an ack also goes once a heartbeat interval while records
        // arrive: the master's CheckQuorum keeps hearing this node.
        self.ack_if_quiet(out);
    }

    /// Records from the master of this term are a sign of its life, as a heartbeat is
    /// (Raft's AppendEntries): under a flood of records the heartbeats wait behind them
    /// on the link, and the election timer must not fire meanwhile.
    pub(crate) fn heard_from_master(&mut self, from: NodeId, term: Term) {
        if term == self.meta.term
            && self.status.master == Some(from)
            && self.status.role == Role::Replica
        {
            self.master_heard_at = Some(self.now.instant);
            self.reset_election_deadline();
        }
    }

    /// Ack if this node has not acked its feed for a heartbeat interval.
    fn ack_if_quiet(&mut self, out: &mut Vec<Output>) {
        let now = self.now.instant;
        let interval_ms = self.config.heartbeat_ms;
        let Some(upstream) = self.upstream.as_ref().filter(|u| u.is_live()) else {
            return;
        };
        if now.since(upstream.acked_at) >= interval_ms {
            self.send_ack(upstream.master, upstream.session, out);
        }
    }

    /// The driver reported more of the AOF durable: in majority mode, tell the master
    /// feeding this node live.
    pub(crate) fn ack_durable(&mut self, out: &mut Vec<Output>) {
        if self.config.write_quorum != WriteQuorum::Majority {
            return;
        }
        if let Some(upstream) = self.upstream.as_ref().filter(|u| u.is_live()) {
            self.send_ack(upstream.master, upstream.session, out);
        }
    }

    /// Ack what this node holds: in majority mode only what is durable, since the master
    /// counts the ack toward a commit.
    pub(crate) fn send_ack(&mut self, master: NodeId, session: u64, out: &mut Vec<Output>) {
        if let Some(upstream) = self.upstream.as_mut() {
            upstream.acked_at = self.now.instant;
        }
        let end = match self.config.write_quorum {
            WriteQuorum::Majority => self.aof.durable_end,
            WriteQuorum::Async => self.aof.end,
        };
        let ack = Message::Ack {
            term: self.meta.term,
            session,
            end,
        };
        self.send(master, &ack, out);
    }

    /// On a heartbeat from the master feeding this node: report how far it holds.
    pub(crate) fn ack_heartbeat(&mut self, master: NodeId, session: u64, out: &mut Vec<Output>) {
        let fed = self
            .upstream
            .as_ref()
            .is_some_and(|u| u.master == master && u.session == session && u.is_live());
        if fed {
            self.send_ack(master, session, out);
        }
    }
}

/// How many bytes the whole records at the start of `bytes` take, and the last one's
/// term (`reign` if none), if every one of them decodes and keeps the term rules: a
/// reign's start record opens a term above the reign before (`reign`, the AOF's last)
/// and not above `ceiling` (the node's current); every other record is of the reign
/// it follows. Applies nothing.
fn check_whole_records(
    bytes: &[u8],
    (reign, ceiling): (Term, Term),
) -> Result<(usize, Term), ApplyError> {
    let mut at = 0;
    let mut reign = reign;
    while at < bytes.len() {
        let (record, len) = match record::decode(&bytes[at..]) {
            Ok(decoded) => decoded,
            Err(DecodeError::Incomplete) => break,
            Err(DecodeError::Corrupt(reason)) => return Err(ApplyError::Corrupt(reason)),
        };
        if let Effect::ReignStart { .. } = record.effect {
            if record.term <= reign {
                return Err(ApplyError::Corrupt(
                    "a reign starts in a term not above the last",
                ));
            }
            if record.term > ceiling {
                return Err(ApplyError::Corrupt("a record is from a future term"));
            }
            reign = record.term;
        } else if record.term != reign {
            return Err(ApplyError::Corrupt(
                "a record is not of the reign it follows",
            ));
        }
        at += len;
    }
    Ok((at, reign))
}

/// Decode and apply whole records from the start of `bytes`, calling `seen` with each
/// record's position; returns how many bytes they took. Terms never go backwards.
pub(crate) fn apply_whole_records(
    keyspace: &mut crate::keyspace::Keyspace,
    bytes: &[u8],
    mut seen: impl FnMut(usize, &record::Record<'_>),
) -> Result<usize, ApplyError> {
    let mut at = 0;
    let mut last_term = Term(0);
    while at < bytes.len() {
        let (record, len) = match record::decode(&bytes[at..]) {
            Ok(decoded) => decoded,
            Err(DecodeError::Incomplete) => break,
            Err(DecodeError::Corrupt(reason)) => return Err(ApplyError::Corrupt(reason)),
        };
        if record.term < last_term {
            return Err(ApplyError::Corrupt("record terms went backwards"));
        }
        last_term = record.term;
        seen(at, &record);
        replay::apply(keyspace, &record.effect);
        at += len;
    }
    Ok(at)
}
