//! Convergence: once faults stop and every node is up, within a bounded simulated time
//! one master exists and every node holds the master's AOF (same end) and state (same
//! keyspace digest).

use super::Violation;

pub const NAME: &str = "convergence";

/// What the world shows of one node when convergence is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub alive: bool,
    pub is_master: bool,
    pub term: u64,
    pub aof_end: u64,
    /// The disk's AOF length, which must match what the node believes.
    pub disk_aof_len: u64,
    pub digest: u64,
}

/// `Ok` if the cluster has converged; `Err` says what is still missing.
pub fn converged(views: &[NodeView]) -> Result<(), String> {
    let masters: Vec<usize> = (0..views.len())
        .filter(|&i| views[i].alive && views[i].is_master)
        .collect();
    let &[master] = masters.as_slice() else {
        return Err(format!("{} masters (want 1): {masters:?}", masters.len()));
    };
    let m = views[master];
    for (i, v) in views.iter().enumerate() {
        if !v.alive {
            return Err(format!("node {i} is down"));
        }
        if v.aof_end != m.aof_end || v.disk_aof_len != m.aof_end {
            return Err(format!(
                "node {i} is at {} (disk {}), master {master} at {}",
                v.aof_end, v.disk_aof_len, m.aof_end
            ));
        }
        if v.digest != m.digest {
            return Err(format!("node {i}'s state differs from master {master}'s"));
        }
        if v.term != m.term {
            return Err(format!(
                "node {i} is in term {}, master {master} in {}",
                v.term, m.term
            ));
        }
    }
    Ok(())
}

/// The run reached the end of its bound without converging.
pub fn deadline_passed(views: &[NodeView], bound_ms: u64) -> Violation {
    let why = converged(views).expect_err("called only when not converged");
    Violation::new(
        NAME,
        format!("no convergence within {bound_ms} ms of the liveness phase: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(is_master: bool, aof_end: u64, digest: u64) -> NodeView {
        NodeView {
            alive: true,
            is_master,
            term: 4,
            aof_end,
            disk_aof_len: aof_end,
            digest,
        }
    }

    #[test]
    fn a_lagging_replica_or_no_master_is_not_converged() {
        assert!(converged(&[view(true, 100, 1), view(false, 90, 1)]).is_err());
        assert!(converged(&[view(false, 100, 1), view(false, 100, 1)]).is_err());
        assert!(converged(&[view(true, 100, 1), view(false, 100, 2)]).is_err());
        let error = deadline_passed(&[view(false, 1, 1)], 20_000);
        assert_eq!(error.checker, NAME);
    }

    #[test]
    fn equal_nodes_under_one_master_converged() {
        converged(&[view(true, 100, 7), view(false, 100, 7), view(false, 100, 7)]).unwrap();
    }
}
