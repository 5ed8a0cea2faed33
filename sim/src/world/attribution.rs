//! Which client write a master's AOF records belong to. A client that times out cannot
//! tell whether its write took effect; the simulator can, by noting the records a master
//! appends while serving the write, and later finding whether the final AOF kept them.
//! The linearizability checker uses this to decide the fate of writes of unknown
//! outcome instead of searching every place they might have taken effect.

use bucket_core::aof::record::decode;
use bucket_core::aof::Effect;
use bucket_core::{Input, Role};

use super::World;
use crate::history::{Applied, OpKind, Value};

/// A write in flight to a master: its history index and the master's AOF end before
/// the step that serves it.
pub(super) struct WriteInFlight {
    op: usize,
    aof_before: u64,
}

impl World {
    /// The write a client-data input carries to a master, if it carries one.
    pub(super) fn write_in_flight(&self, index: usize, input: &Input<'_>) -> Option<WriteInFlight> {
        let Input::ClientData { conn, .. } = input else {
            return None;
        };
        let node = self.slots[index].node.as_ref()?;
        if node.role() != Role::Master {
            return None;
        }
        let client = self.conns.get(&conn.0)?.client;
        let op = self.clients.op_in_flight(client, conn.0)?;
        let is_write = self.clients.history.ops[op].kind.is_write();
        is_write.then(|| WriteInFlight {
            op,
            aof_before: self.disks[index].aof_len(),
        })
    }

    /// After the step: if the master appended records for the write, note where.
    pub(super) fn attribute(&mut self, index: usize, write: WriteInFlight) {
        let Some(node) = self.slots[index].node.as_ref() else {
            // It stopped mid-step (a failed fsync): what it appended may have survived.
            self.clients.history.unclear.insert(write.op);
            return;
        };
        let Some(reign) = node.reigns().last() else {
            return;
        };
        let aof = self.disks[index].aof();
        let Some(appended) = aof.get(write.aof_before as usize..) else {
            return;
        };
        if appended.is_empty() {
            return; // Nothing changed: a DEL of a missing key, an INCR that failed.
        }
        if reign.start.0 > write.aof_before {
            self.clients.history.unclear.insert(write.op);
            return;
        }
        let op = &self.clients.history.ops[write.op];
        // The first record is the write's own; the disk holds only whole records.
        let output = decode(appended)
            .ok()
            .and_then(|(record, _)| implied_output(&op.kind, &op.key, &record.effect));
        let history = &mut self.clients.history;
        match output {
            Some(output) => {
                let applied = Applied {
                    master_id: reign.master_id.0,
                    offset: write.aof_before,
                    output,
                };
                history.applied.insert(write.op, applied);
            }
            None => {
                history.unclear.insert(write.op);
            }
        }
    }
}

/// The answer the write's first record implies, if the record is the write's own.
fn implied_output(kind: &OpKind, key: &[u8], effect: &Effect<'_>) -> Option<Value> {
    match (kind, effect) {
        (
            OpKind::Set(value),
            Effect::Set {
                key: k, value: v, ..
            },
        ) if *k == key && v == value => Some(Value::Ok),
        (
            OpKind::Incr,
            Effect::SetKeepTtl { key: k, value } | Effect::Set { key: k, value, .. },
        ) if *k == key => {
            let n = std::str::from_utf8(value).ok()?.parse().ok()?;
            Some(Value::Int(n))
        }
        (OpKind::Del, Effect::Del { key: k }) if *k == key => Some(Value::Int(1)),
        _ => None,
    }
}
