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
}
