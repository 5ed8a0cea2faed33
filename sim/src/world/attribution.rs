//! Which client write a master's AOF records belong to. A client that times out cannot
//! tell whether its write took effect; the simulator can, by noting the records a master
//! appends while serving the write, and later finding whether the final AOF kept them.
//! The linearizability checker uses this to decide the fate of writes of unknown
//! outcome instead of searching every place they might have taken effect.

use bucket_core::aof::record::decode;
use bucket_core::aof::Effect;
use bucket_core::{Input, Output, Role};

use super::{World, UNIX_EPOCH_OFFSET_MS};
use crate::history::{Applied, Expiry, OpKind, Span, Value};

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
        let op = *self.request_ops.get(&conn.0)?;
        let is_write = self.clients.history.ops[op].kind.is_write();
        is_write.then(|| WriteInFlight {
            op,
            aof_before: node.aof_end().0,
        })
    }

    /// After the step, before its outputs run: if the master logged records for the
    /// write, note where. The step's outputs are read rather than the disk, because a
    /// crash inside the step may stop the append while the frames that carry the same
    /// records to replicas already left.
    pub(super) fn attribute(&mut self, index: usize, write: WriteInFlight, outputs: &[Output]) {
        let node = self.slots[index].node.as_ref().expect("stepped");
        let Some(reign) = node.reigns().last() else {
            return;
        };
        let appended = outputs.iter().find_map(|output| match output {
            Output::AppendAof { offset, bytes } if offset.0 == write.aof_before => Some(bytes),
            _ => None,
        });
        let Some(appended) = appended else {
            return; // Nothing changed: a DEL of a missing key, an INCR that failed.
        };
        if reign.start.0 > write.aof_before {
            self.clients.history.unclear.insert(write.op);
            return;
        }
        let op = &self.clients.history.ops[write.op];
        // The first record is the write's own; appends hold only whole records.
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

/// What the write's first record says of it: `None` if the record is not plainly the
/// write's own (an MSET's records may be cut apart, so its first says nothing of the
/// rest); `Some(answer)` if it is, with the answer it implies, if it implies one (a
/// GETDEL's delete does not say what it read).
fn implied_output(kind: &OpKind, key: &[u8], effect: &Effect<'_>) -> Option<Option<Value>> {
    let (k, value) = match *effect {
        Effect::Set { key, value, .. } | Effect::SetKeepTtl { key, value } => (key, Some(value)),
        Effect::Del { key } | Effect::Expire { key, .. } | Effect::Persist { key } => (key, None),
        Effect::FlushAll | Effect::ReignStart { .. } => return None,
    };
    if k != key {
        return None;
    }
    let int = |n: usize| Some(Some(Value::Int(n as i64)));
    let past =
        |expiry: Option<Expiry>| expiry.is_some_and(|e| e.span(UNIX_EPOCH_OFFSET_MS) == Span::Past);
    match (kind, effect, value) {
        (OpKind::Set(v), Effect::Set { .. }, Some(value)) if value == v => Some(Some(Value::Ok)),
        (OpKind::SetWith { value: v, options }, _, Some(value)) if value == v => {
            Some((!options.get).then_some(Value::Ok))
        }
        (OpKind::SetWith { options, .. }, Effect::Del { .. }, None) if past(options.expiry) => {
            Some((!options.get).then_some(Value::Ok))
        }
        (OpKind::SetNx(v), Effect::Set { .. }, Some(value)) if value == v => int(1),
        (OpKind::GetSet(v), Effect::Set { .. }, Some(value)) if value == v => Some(None),
        (OpKind::Incr | OpKind::Counter(_), _, Some(value)) => {
            let n = std::str::from_utf8(value).ok()?.parse().ok()?;
            Some(Some(Value::Int(n)))
        }
        (OpKind::Append(suffix), _, Some(value)) if value.ends_with(suffix) => int(value.len()),
        (OpKind::Del | OpKind::Unlink, Effect::Del { .. }, _) => int(1),
        (OpKind::GetDel, Effect::Del { .. }, _) => Some(None),
        (OpKind::Expire { .. }, Effect::Expire { .. }, _) => int(1),
        (OpKind::Expire { expiry, .. }, Effect::Del { .. }, _) if past(Some(*expiry)) => int(1),
        (OpKind::Persist, Effect::Persist { .. }, _) => int(1),
        _ => None,
    }
}
