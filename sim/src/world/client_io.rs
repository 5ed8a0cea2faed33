//! Traffic between the clients and the nodes: connections, requests, replies, and the
//! actions the clients ask the world to carry out.

use bucket_core::Input;

use super::{ConnInfo, Event, World};
use crate::client;

impl World {
    pub(super) fn on_client_connect(&mut self, node: usize, conn: u64, client: usize) {
        self.trace
            .event(self.now_ms, "client-connect", &[node as u64, conn], b"");
        if self.slots[node].node.is_none() {
            // Connection refused.
            self.schedule(
                self.now_ms + self.options.client_latency_ms,
                Event::ClientDisconnected { client, conn },
            );
            return;
        }
        self.conns.insert(conn, ConnInfo { client, node });
        let input = Input::ClientConnected {
            conn: bucket_core::ConnectionId(conn),
            addrs: bucket_core::ClientAddrs::loopback(40_000 + (conn % 20_000) as u16),
        };
        self.step_node(node, input);
    }

    pub(super) fn on_client_data(&mut self, node: usize, conn: u64, bytes: &[u8]) {
        if self.conns.get(&conn).map(|c| c.node) != Some(node) {
            return; // The node crashed or closed the connection since.
        }
        self.trace
            .event(self.now_ms, "client-data", &[node as u64, conn], bytes);
        let input = Input::ClientData {
            conn: bucket_core::ConnectionId(conn),
            bytes,
        };
        self.step_node(node, input);
    }

    pub(super) fn on_client_close(&mut self, node: usize, conn: u64) {
        let Some(info) = self.conns.get(&conn).copied() else {
            return;
        };
        if info.node != node {
            return;
        }
        self.conns.remove(&conn);
        self.trace
            .event(self.now_ms, "client-close", &[node as u64, conn], b"");
        if self.slots[node].node.is_some() {
            self.step_node(
                node,
                Input::ClientClosed {
                    conn: bucket_core::ConnectionId(conn),
                },
            );
        }
    }

    pub(super) fn execute_client_actions(&mut self, client: usize, actions: Vec<client::Action>) {
        let latency_ms = self.options.client_latency_ms;
        for action in actions {
            match action {
                client::Action::Connect { conn, node } => self.schedule(
                    self.now_ms + latency_ms,
                    Event::ClientConnect { node, conn, client },
                ),
                client::Action::Send {
                    conn,
                    node,
                    bytes,
                    ops,
                } => {
                    self.request_ops.insert(conn, ops);
                    self.schedule(
                        self.now_ms + latency_ms,
                        Event::ClientData { node, conn, bytes },
                    )
                }
                client::Action::Close { conn, node } => {
                    self.schedule(self.now_ms + latency_ms, Event::ClientClose { node, conn })
                }
                client::Action::WakeAt { at_ms } => {
                    self.schedule(at_ms, Event::ClientWake { client })
                }
                client::Action::Finished { op } => {
                    let history = &self.clients.history;
                    let describe = || crate::workload::describe(&history.ops[op]);
                    self.trace.note_op(self.now_ms, op, describe);
                }
            }
        }
    }
}
