//! Switches for the known bugs planted behind the `planted-bugs` feature. Without the
//! feature every switch is a constant `false`, and the compiler removes the bug.

use super::Node;

macro_rules! planted {
    ($node:expr, $bug:ident) => {{
        #[cfg(feature = "planted-bugs")]
        let on = $node.config.planted_bug == Some(crate::config::PlantedBug::$bug);
        #[cfg(not(feature = "planted-bugs"))]
        let on = false;
        on
    }};
}

impl Node {
    pub(super) fn planted_vote_not_persisted(&self) -> bool {
        planted!(self, VoteNotPersisted)
    }

    pub(super) fn planted_vote_without_log_check(&self) -> bool {
        planted!(self, VoteWithoutUpToDateCheck)
    }

    pub(super) fn planted_ack_before_quorum(&self) -> bool {
        planted!(self, AckBeforeQuorum)
    }

    pub(super) fn planted_torn_tail_replayed(&self) -> bool {
        planted!(self, TornTailReplayed)
    }

    pub(super) fn planted_checksum_failure_as_torn_tail(&self) -> bool {
        planted!(self, ChecksumFailureAsTornTail)
    }

    pub(super) fn planted_diverged_suffix_kept(&self) -> bool {
        planted!(self, DivergedSuffixKept)
    }

    pub(super) fn planted_stale_read(&self) -> bool {
        planted!(self, StaleReadAfterReignLost)
    }

    pub(super) fn planted_vote_sent_before_persist(&self) -> bool {
        planted!(self, VoteSentBeforePersist)
    }

    pub(super) fn planted_lease_read_without_lease(&self) -> bool {
        planted!(self, LeaseReadWithoutLease)
    }

    pub(super) fn planted_stale_session_ack_counted(&self) -> bool {
        planted!(self, StaleSessionAckCounted)
    }

    pub(super) fn planted_replica_evicts_on_its_own(&self) -> bool {
        planted!(self, ReplicaEvictsOnItsOwn)
    }

    pub(super) fn planted_commit_before_own_reign(&self) -> bool {
        planted!(self, CommitBeforeOwnReign)
    }

    pub(super) fn planted_last_term_kept_after_cut(&self) -> bool {
        planted!(self, LastTermKeptAfterCut)
    }

    pub(super) fn planted_replica_expires_on_own_clock(&self) -> bool {
        planted!(self, ReplicaExpiresOnOwnClock)
    }

    pub(super) fn planted_durable_before_fsync_report(&self) -> bool {
        planted!(self, DurableBeforeFsyncReport)
    }

    pub(super) fn planted_no_check_quorum(&self) -> bool {
        planted!(self, NoCheckQuorum)
    }

    pub(super) fn planted_read_released_before_read_index(&self) -> bool {
        planted!(self, ReadReleasedBeforeReadIndex)
    }

    pub(super) fn planted_base_installed_before_whole(&self) -> bool {
        planted!(self, BaseInstalledBeforeWhole)
    }

    pub(super) fn planted_transaction_not_a_unit(&self) -> bool {
        planted!(self, TransactionNotAUnit)
    }

    pub(super) fn planted_watch_misses_replicated_write(&self) -> bool {
        planted!(self, WatchMissesReplicatedWrite)
    }

    pub(super) fn planted_restarted_node_votes_at_once(&self) -> bool {
        planted!(self, RestartedNodeVotesAtOnce)
    }

    pub(super) fn planted_lease_without_drift_margin(&self) -> bool {
        planted!(self, LeaseWithoutDriftMargin)
    }

    /// Sets the keyspace's own switch, which has no config to read.
    pub(super) fn plant_keyspace_bugs(&mut self) {
        if planted!(self, BaseSkipsMovedEntries) {
            self.keyspace.plant_snapshot_skips_moved_entries();
        }
    }
}
