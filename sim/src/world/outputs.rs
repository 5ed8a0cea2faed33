//! Executing a node's outputs, in order, as the daemon does.

use bucket_core::{BaseKind, LogLevel, NodeId, Output};

use super::{Event, World, CORE_ASSERTION, DRIVER_CONTRACT};
use crate::checkers::Violation;
use crate::network::Sent;
use crate::options::AppendFsync;

impl World {
    /// Execute and consume `outputs` in order, as the daemon does, moving their buffers
    /// on rather than copying. Replies wait for the end of the step (after its fsync
    /// under `appendfsync always`), as the daemon flushes them at the end of its pass;
    /// peer frames leave at once, which the contract allows and which is never safer.
    ///
    /// A crash may land between any two outputs: what was executed stays done (a
    /// `PersistMeta` is durable, a frame is on the wire, appended bytes sit unsynced),
    /// and the rest, the held replies included, never happens.
    pub(super) fn execute_outputs(&mut self, index: usize, outputs: &mut Vec<Output>) {
        let crash_before = self.crash_point(index, outputs.len());
        let mut replies = Vec::new();
        for (i, output) in outputs.drain(..).enumerate() {
            if crash_before == Some(i) || self.crash_now {
                break;
            }
            self.hash_output(index, &output);
            if matches!(output, Output::Reply { .. } | Output::Close { .. }) {
                replies.push(output);
                continue;
            }
            if let Output::Log {
                level: LogLevel::Error,
                message,
            } = &output
            {
                // The core logs at error level only what honest peers and a sound disk
                // can never cause (it refused to act on it): in the simulator, a bug.
                self.trace
                    .note(self.now_ms, format!("node {index} Error: {message}"));
                let detail = format!("node {index} refused an impossible request: {message}");
                self.fail(Violation::new(CORE_ASSERTION, detail));
                return;
            }
            if let Err(detail) = self.execute_output(index, output) {
                self.fail(Violation::new(
                    DRIVER_CONTRACT,
                    format!("node {index}: {detail}"),
                ));
                return;
            }
        }
        let after_vote = std::mem::take(&mut self.crash_now);
        if crash_before.is_some() || after_vote {
            self.crash_inside_step(index, after_vote);
            return;
        }
        // `appendfsync always`: one sync per pass that wrote or truncated, before its
        // replies leave. If it fails the node stops, and they never do.
        if self.slots[index].appendfsync == AppendFsync::Always && !self.sync_at_step_end(index) {
            return;
        }
        for reply in replies {
            let result = self.execute_output(index, reply);
            debug_assert!(result.is_ok(), "replies and closes always execute");
        }
    }

    fn execute_output(&mut self, index: usize, output: Output) -> Result<(), String> {
        match output {
            Output::Reply { conn, bytes } => self.deliver_reply(conn.0, bytes),
            Output::Close { conn } => self.close_from_node(index, conn.0),
            Output::Send { peer, frame } => return self.send(index, peer, frame),
            Output::ResetPeer { peer } => {
                let peer = peer_index(self, peer)?;
                if peer == index {
                    return Err("reset a link to itself".to_string());
                }
                self.trace
                    .note(self.now_ms, format!("node {index}: reset link to {peer}"));
                self.cut_link(index, peer);
            }
            Output::AppendAof { offset, bytes } => {
                return self.disks[index].append(offset.0, &bytes)
            }
            Output::TruncateAof { offset } => return self.truncate(index, offset.0),
            Output::SyncAof => self.request_fsync(index),
            Output::PersistMeta { bytes } => self.disks[index].persist_meta(&bytes),
            Output::StreamAof {
                peer,
                session,
                start,
                end,
            } => return self.stream_aof(index, peer, session, (start.0, end.0)),
            Output::BeginBase { offset, kind } => {
                return self.disks[index].begin_base(offset.0, kind)
            }
            Output::WriteBase { bytes } => return self.disks[index].write_base(&bytes),
            Output::FinishBase => return self.finish_base(index),
            Output::AbandonBase => self.disks[index].abandon_base(),
            Output::StreamBase { peer, session } => return self.stream_base(index, peer, session),
            Output::Log { level, message } => self
                .trace
                .note(self.now_ms, format!("node {index} {level:?}: {message}")),
            Output::ApplySettings(settings) => {
                self.slots[index].appendfsync = settings.appendfsync;
                self.start_everysec_timer(index);
            }
        }
        Ok(())
    }

    fn hash_output(&mut self, index: usize, output: &Output) {
        let node = index as u64;
        let now_ms = self.now_ms;
        let t = &mut self.trace;
        match output {
            Output::Reply { conn, bytes } => t.event(now_ms, "out-reply", &[node, conn.0], bytes),
            Output::Close { conn } => t.event(now_ms, "out-close", &[node, conn.0], b""),
            Output::Send { peer, frame } => {
                t.event(now_ms, "out-send", &[node, peer.0 as u64], frame)
            }
            Output::ResetPeer { peer } => t.event(now_ms, "out-reset", &[node, peer.0 as u64], b""),
            Output::AppendAof { offset, bytes } => {
                t.event(now_ms, "out-append", &[node, offset.0], bytes)
            }
            Output::TruncateAof { offset } => {
                t.event(now_ms, "out-truncate", &[node, offset.0], b"")
            }
            Output::SyncAof => t.event(now_ms, "out-sync", &[node], b""),
            Output::PersistMeta { bytes } => t.event(now_ms, "out-meta", &[node], bytes),
            Output::StreamAof {
                peer,
                session,
                start,
                end,
            } => t.event(
                now_ms,
                "out-stream",
                &[node, peer.0 as u64, *session, start.0, end.0],
                b"",
            ),
            Output::BeginBase { offset, kind } => t.event(
                now_ms,
                "out-begin-base",
                &[node, offset.0, (*kind == BaseKind::Rewrite) as u64],
                b"",
            ),
            Output::WriteBase { bytes } => t.event(now_ms, "out-write-base", &[node], bytes),
            Output::FinishBase => t.event(now_ms, "out-finish-base", &[node], b""),
            Output::AbandonBase => t.event(now_ms, "out-abandon-base", &[node], b""),
            Output::StreamBase { peer, session } => t.event(
                now_ms,
                "out-stream-base",
                &[node, peer.0 as u64, *session],
                b"",
            ),
            Output::Log { message, .. } => t.event(now_ms, "out-log", &[node], message.as_bytes()),
            Output::ApplySettings(settings) => {
                let text = format!("{settings:?}");
                t.event(now_ms, "out-settings", &[node], text.as_bytes())
            }
        }
    }

    fn deliver_reply(&mut self, conn: u64, bytes: Vec<u8>) {
        let Some(info) = self.conns.get(&conn).copied() else {
            return; // The client left: the reply goes nowhere.
        };
        let at_ms = self.now_ms + self.options.client_latency_ms;
        let event = Event::ClientReply {
            client: info.client,
            conn,
            bytes,
        };
        self.schedule(at_ms, event);
    }

    /// The node closes a connection: after its replies, the client sees it end, and the
    /// node hears `ClientClosed` as the daemon would report it.
    fn close_from_node(&mut self, index: usize, conn: u64) {
        let Some(info) = self.conns.get(&conn).copied() else {
            return;
        };
        let at_ms = self.now_ms + self.options.client_latency_ms;
        self.schedule(
            at_ms,
            Event::ClientDisconnected {
                client: info.client,
                conn,
            },
        );
        self.schedule(self.now_ms, Event::ClientClose { node: index, conn });
    }

    fn send(&mut self, index: usize, peer: NodeId, frame: Vec<u8>) -> Result<(), String> {
        let peer = peer_index(self, peer)?;
        if peer == index {
            return Err("sent a frame to itself".to_string());
        }
        let frame_bytes_max = self.slots[index].config.limits.peer_frame_bytes_max;
        match bucket_core::peer::frame_len(&frame, frame_bytes_max) {
            Ok(Some(len)) if len == frame.len() => {}
            other => return Err(format!("sent a malformed frame to node {peer}: {other:?}")),
        }
        let message = bucket_core::peer::decode(&frame)
            .map_err(|e| format!("sent an undecodable frame to node {peer}: {e}"))?;
        self.acks.observe_sent(index, peer, &message);
        if matches!(message, bucket_core::peer::Message::Heartbeat { .. }) {
            self.note_heartbeat_sent(index, peer);
        }
        let vote_granted = matches!(
            message,
            bucket_core::peer::Message::Vote {
                granted: true,
                pre_vote: false,
                ..
            }
        );
        if vote_granted {
            self.maybe_crash_after_vote();
        }
        match self.network.send(index, peer, self.now_ms) {
            Sent::Deliver { at_ms, epoch } => {
                let to_incarnation = self.slots[peer].incarnation;
                if let Some(delay_ms) = self.network.duplicate_delay_ms() {
                    let copy = Event::PeerFrame {
                        from: index,
                        to: peer,
                        epoch: None,
                        to_incarnation,
                        frame: frame.clone(),
                    };
                    self.schedule(at_ms + delay_ms, copy);
                }
                let event = Event::PeerFrame {
                    from: index,
                    to: peer,
                    epoch: Some(epoch),
                    to_incarnation,
                    frame,
                };
                self.schedule(at_ms, event);
            }
            Sent::Dropped => {}
            Sent::Lost => {
                self.trace.note(
                    self.now_ms,
                    format!("network: frame {index}->{peer} lost, link reset"),
                );
                self.cut_link(index, peer);
            }
        }
        Ok(())
    }

    fn truncate(&mut self, index: usize, offset: u64) -> Result<(), String> {
        let node = self.slots[index].node.as_ref().expect("stepped");
        let is_master = node.role() == bucket_core::Role::Master;
        let term = node.term().0;
        let aof_len = self.disks[index].aof_len();
        if let Err(v) = self
            .reign_guard
            .observe_truncate(index, term, is_master, offset, aof_len)
        {
            self.fail(v);
        }
        self.trace.note(
            self.now_ms,
            format!("node {index}: truncate AOF {aof_len} -> {offset}"),
        );
        self.disks[index].truncate(offset)
    }
}

pub(super) fn peer_index(world: &World, peer: NodeId) -> Result<usize, String> {
    let peer = peer.0 as usize;
    if peer >= world.slots.len() {
        return Err(format!("named peer {peer}, which is not a member"));
    }
    Ok(peer)
}
