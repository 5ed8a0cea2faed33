//! The allocator, modelled: in runs with a `maxmemory`, each node's timer step is
//! preceded by the report a daemon makes of what its allocator holds
//! (`Input::MemoryUsed`). The model is the node's own estimate of its keys plus a fixed
//! base: a function of the keyspace alone, so the run stays deterministic, and close
//! enough to the limit that masters evict and refuse writes under every policy.

use bucket_core::Input;

use super::World;

/// What a node holds before any key: buffers, tables, the backlog.
pub const MODEL_BASE_BYTES: u64 = 50_000;

impl World {
    /// Report node `index`'s memory, if the run limits it.
    pub(super) fn report_memory(&mut self, index: usize) {
        if self.options.maxmemory.bytes == 0 {
            return;
        }
        let node = self.slots[index].node.as_ref().expect("a live node");
        let keyspace = node.keyspace();
        let keys: u64 = keyspace
            .iter()
            .map(|(key, _)| keyspace.memory_usage(key).expect("a stored key"))
            .sum();
        let allocated = MODEL_BASE_BYTES + keys;
        let resident = allocated + allocated / 8;
        self.step_node(
            index,
            Input::MemoryUsed {
                allocated,
                resident,
            },
        );
    }
}
