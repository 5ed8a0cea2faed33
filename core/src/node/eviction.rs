//! `maxmemory` at the master: before each command, evict keys while the node uses more
//! than its limit; refuse a command that may grow memory (`-OOM`) when that is not
//! enough. Each eviction is logged as a delete, so replicas, which never evict on their
//! own, stay the replay of their AOF. Access stamps for LRU and LFU are kept here too.

use rand_core::RngCore;

use crate::aof::Effect;
use crate::commands::{self, CommandSpec};
use crate::memory::{eviction_score, Rank};
use crate::resp;
use crate::session::Session;
use crate::status::Role;

use super::Node;

/// Redis's reply to a write that would grow memory past the limit.
pub const ERR_OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// Keys evicted before one command at most: a command never waits on a long eviction
/// run (Redis bounds its own by time).
const EVICTIONS_PER_COMMAND_MAX: usize = 1024;
/// Random picks per key sampled under a volatile policy, where most keys may have no
/// expiry and are passed over.
const PICKS_PER_SAMPLE: u32 = 8;

impl Node {
    /// Before `spec` runs for `session`: make room if the node is over its limit.
    /// Returns false, with `-OOM` written, if the command may grow memory and there
    /// is still no room; an `EXEC` refused so discards its transaction, as in Redis.
    pub(super) fn room_for(
        &mut self,
        spec: &CommandSpec,
        session: &mut Session,
        reply: &mut Vec<u8>,
    ) -> bool {
        if self.planted_replica_evicts_on_its_own() && self.status.role == Role::Replica {
            self.evict_unlogged();
        }
        if self.status.role != Role::Master || self.memory.limit.bytes == 0 {
            return true;
        }
        if self.evict_to_limit() || !self.may_grow(spec, session) {
            return true;
        }
        resp::write_error(reply, ERR_OOM);
        if spec.name == "exec" && session.multi.take().is_some() {
            self.unwatch_all(session);
        }
        false
    }

    /// Whether `spec` may grow memory (Redis's `denyoom`); for `EXEC`, whether any
    /// queued command may.
    fn may_grow(&self, spec: &CommandSpec, session: &Session) -> bool {
        match &session.multi {
            Some(multi) if spec.name == "exec" => multi.queued.iter().any(|request| {
                commands::lookup(request.arg(0)).is_some_and(CommandSpec::may_grow_memory)
            }),
            _ => spec.may_grow_memory(),
        }
    }

    /// Evict until the node is within its limit, or the policy finds no key to evict.
    /// Returns false only in the second case: a run cut short by its bound lets the
    /// command through, as Redis's `EVICT_RUNNING` does, and the next one evicts more.
    fn evict_to_limit(&mut self) -> bool {
        let Some(rank) = self.memory.limit.policy.rank() else {
            return !self.memory.is_over(self.pending_end());
        };
        for _ in 0..EVICTIONS_PER_COMMAND_MAX {
            if !self.memory.is_over(self.pending_end()) {
                return true;
            }
            let Some(victim) = self.pick_victim(rank) else {
                return false;
            };
            let bytes = self.keyspace.memory_usage(&victim).unwrap_or(0);
            self.log_effect(Effect::Del { key: &victim });
            self.memory.note_eviction(bytes);
        }
        true
    }

    /// The best of `maxmemory-samples` keys drawn with the node's generator (keys with
    /// an expiry only, under a volatile policy); `None` if none was found.
    fn pick_victim(&mut self, rank: Rank) -> Option<Vec<u8>> {
        let volatile = self.memory.limit.policy.is_volatile();
        let samples = self.memory.limit.samples;
        let now = self.now.instant;
        let mut best: Option<(u64, &[u8])> = None;
        let mut found = 0;
        for _ in 0..samples * PICKS_PER_SAMPLE {
            if found == samples {
                break;
            }
            let sampled = self.keyspace.sample(self.rng.next_u64())?;
            if volatile && sampled.expire_at_ms.is_none() {
                continue;
            }
            found += 1;
            let score = eviction_score(rank, sampled.stamp, sampled.expire_at_ms, now);
            if best.is_none_or(|(top, _)| score > top) {
                best = Some((score, sampled.key));
            }
        }
        best.map(|(_, key)| key.to_vec())
    }

    /// The planted bug: a replica over its limit drops keys no record deletes.
    fn evict_unlogged(&mut self) {
        if self.memory.limit.bytes == 0 || !self.memory.is_over(self.pending_end()) {
            return;
        }
        if let Some(victim) = self.keyspace.sample(self.rng.next_u64()) {
            let victim = victim.key.to_vec();
            self.keyspace.remove(&victim);
        }
    }

    /// Stamp the keys `spec` names in the request as used now, under an LRU or LFU
    /// policy (others never read the stamps, and reads stay free of writes).
    pub(super) fn stamp_used_keys(&mut self, spec: &CommandSpec) {
        // OBJECT and TYPE look at a key without using it, as in Redis.
        if !self.memory.limit.policy.tracks_access() || matches!(spec.name, "object" | "type") {
            return;
        }
        let now = self.now.instant;
        let memory = &mut self.memory;
        for key in spec.keys(&self.request) {
            self.keyspace
                .touch(key, |stamp| memory.touched_stamp(stamp, now));
        }
    }
}
