//! Cluster-facing commands. Bucket describes itself as one Redis Cluster shard that owns
//! all 16384 slots: the master plus its replicas. That is what lets `redis-cli -c` and
//! cluster client libraries route writes to the master and follow `-MOVED`.

use super::{err_unknown_subcommand, parse_i64, Ctx, Flow, ERR_NOT_INTEGER};
use crate::resp::{self, Request};
use crate::slot::{key_slot, SLOT_COUNT};
use crate::status::{split_addr, MemberStatus, Role};
use std::fmt::Write as _;

/// `READONLY`: this connection may read from a replica (stale reads allowed). Only
/// majority mode needs it; in async mode every node answers reads anyway.
pub fn readonly(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    ctx.session.readonly = true;
    resp::write_simple(out, "OK");
    Flow::Continue
}

pub fn readwrite(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    ctx.session.readonly = false;
    resp::write_simple(out, "OK");
    Flow::Continue
}

/// `WAIT numreplicas timeout`: the node blocks the client until enough replicas hold
/// its last write, as Redis does.
pub fn wait(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let (Some(replicas), Some(timeout_ms)) = (parse_i64(req.arg(1)), parse_i64(req.arg(2))) else {
        resp::write_error(out, ERR_NOT_INTEGER);
        return Flow::Continue;
    };
    if timeout_ms < 0 {
        resp::write_error(out, "ERR timeout is negative");
        return Flow::Continue;
    }
    if ctx.status.role != Role::Master {
        resp::write_error(out, "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
        return Flow::Continue;
    }
    Flow::Wait {
        replicas: replicas.max(0) as usize,
        timeout_ms: timeout_ms as u64,
    }
}

/// `ROLE`: `["master", offset, [[host, port, offset], ...]]` or
/// `["slave", host, port, state, offset]`.
pub fn role(ctx: &mut Ctx<'_>, _req: &Request, out: &mut Vec<u8>) -> Flow {
    let status = ctx.status;
    if status.role == Role::Master {
        resp::write_array_len(out, 3);
        resp::write_bulk(out, b"master");
        resp::write_int(out, status.aof_end.0 as i64);
        resp::write_array_len(out, status.replicas.len());
        for replica in &status.replicas {
            let (host, port) = split_addr(&status.members[replica.node.0 as usize].client_addr);
            resp::write_array_len(out, 3);
            resp::write_bulk(out, host.as_bytes());
            resp::write_bulk(out, port.to_string().as_bytes());
            resp::write_bulk(out, replica.acked.0.to_string().as_bytes());
        }
        return Flow::Continue;
    }
    let (host, port) = split_addr(status.master_client_addr().unwrap_or("?:0"));
    let state = if status.master_link_up {
        "connected"
    } else {
        "connect"
    };
    resp::write_array_len(out, 5);
    resp::write_bulk(out, b"slave");
    resp::write_bulk(out, host.as_bytes());
    resp::write_int(out, port as i64);
    resp::write_bulk(out, state.as_bytes());
    resp::write_int(out, status.aof_end.0 as i64);
    Flow::Continue
}

pub fn cluster(ctx: &mut Ctx<'_>, req: &Request, out: &mut Vec<u8>) -> Flow {
    let sub = req.arg(1).to_ascii_uppercase();
    match (sub.as_slice(), req.len()) {
        (b"SLOTS", 2) => cluster_slots(ctx, out),
        (b"SHARDS", 2) => cluster_shards(ctx, out),
        (b"NODES", 2) => resp::write_verbatim(out, &cluster_nodes(ctx), ctx.protocol()),
        (b"INFO", 2) => {
            let mut text = String::new();
            cluster_info(ctx, &mut text);
            resp::write_verbatim(out, &text, ctx.protocol());
        }
        (b"MYID", 2) => resp::write_bulk(out, ctx.status.myself().name.as_bytes()),
        (b"KEYSLOT", 3) => resp::write_int(out, key_slot(req.arg(2)) as i64),
        (b"SLOTS" | b"SHARDS" | b"NODES" | b"INFO" | b"MYID" | b"KEYSLOT", _) => {
            let name = format!("cluster|{}", String::from_utf8_lossy(&sub).to_lowercase());
            super::err_wrong_arity(out, &name);
        }
        _ => err_unknown_subcommand(out, "cluster", req.arg(1)),
    }
    Flow::Continue
}

/// The members in the order CLUSTER replies list them: the master first (if known),
/// then every other member.
fn shard_members<'s>(ctx: &'s Ctx<'_>) -> Vec<(&'s MemberStatus, bool)> {
    let master = ctx.status.master.map(|id| id.0 as usize);
    let mut members = Vec::with_capacity(ctx.status.members.len());
    if let Some(master) = master {
        members.push((&ctx.status.members[master], true));
    }
    for (i, member) in ctx.status.members.iter().enumerate() {
        if Some(i) != master {
            members.push((member, false));
        }
    }
    members
}

fn cluster_slots(ctx: &Ctx<'_>, out: &mut Vec<u8>) {
    if ctx.status.master.is_none() {
        resp::write_array_len(out, 0);
        return;
    }
    let members = shard_members(ctx);
    resp::write_array_len(out, 1);
    resp::write_array_len(out, 2 + members.len());
    resp::write_int(out, 0);
    resp::write_int(out, (SLOT_COUNT - 1) as i64);
    for (member, _) in members {
        let (host, port) = split_addr(&member.client_addr);
        resp::write_array_len(out, 3);
        resp::write_bulk(out, host.as_bytes());
        resp::write_int(out, port as i64);
        resp::write_bulk(out, member.name.as_bytes());
    }
}

fn cluster_shards(ctx: &Ctx<'_>, out: &mut Vec<u8>) {
    let protocol = ctx.protocol();
    let members = shard_members(ctx);
    resp::write_array_len(out, 1);
    resp::write_map_len(out, 2, protocol);
    resp::write_bulk(out, b"slots");
    resp::write_array_len(out, 2);
    resp::write_int(out, 0);
    resp::write_int(out, (SLOT_COUNT - 1) as i64);
    resp::write_bulk(out, b"nodes");
    resp::write_array_len(out, members.len());
    for (member, is_master) in members {
        let (host, port) = split_addr(&member.client_addr);
        let health = if link_up(ctx, member) {
            "online"
        } else {
            "fail"
        };
        resp::write_map_len(out, 6, protocol);
        resp::write_bulk(out, b"id");
        resp::write_bulk(out, member.name.as_bytes());
        resp::write_bulk(out, b"port");
        resp::write_int(out, port as i64);
        resp::write_bulk(out, b"ip");
        resp::write_bulk(out, host.as_bytes());
        resp::write_bulk(out, b"role");
        resp::write_bulk(
            out,
            if is_master {
                &b"master"[..]
            } else {
                b"replica"
            },
        );
        resp::write_bulk(out, b"replication-offset");
        resp::write_int(out, ctx.status.aof_end.0 as i64);
        resp::write_bulk(out, b"health");
        resp::write_bulk(out, health.as_bytes());
    }
}

/// Whether `member` is reachable. A node never has a link to itself, yet it is always up
/// as far as it can tell: Redis reports `myself` as connected and online.
fn link_up(ctx: &Ctx<'_>, member: &MemberStatus) -> bool {
    member.link_up || std::ptr::eq(member, ctx.status.myself())
}

/// `CLUSTER NODES`: one line per member in Redis Cluster's format.
fn cluster_nodes(ctx: &Ctx<'_>) -> String {
    let status = ctx.status;
    let master_name = status
        .master
        .map(|id| status.members[id.0 as usize].name.as_str());
    let mut text = String::new();
    for (member, is_master) in shard_members(ctx) {
        let (_, cluster_port) = split_addr(&member.cluster_addr);
        let mut flags = String::new();
        if std::ptr::eq(member, status.myself()) {
            flags.push_str("myself,");
        }
        flags.push_str(if is_master { "master" } else { "slave" });
        let up = link_up(ctx, member);
        if !up {
            flags.push_str(",fail?");
        }
        let master_of = if is_master {
            "-"
        } else {
            master_name.unwrap_or("-")
        };
        let link = if up { "connected" } else { "disconnected" };
        let slots = if is_master { " 0-16383" } else { "" };
        let _ = writeln!(
            text,
            "{} {}@{} {} {} 0 0 {} {}{}",
            member.name,
            member.client_addr,
            cluster_port,
            flags,
            master_of,
            status.term.0,
            link,
            slots
        );
    }
    text
}

fn cluster_info(ctx: &Ctx<'_>, text: &mut String) {
    let status = ctx.status;
    let state = if status.master.is_some() {
        "ok"
    } else {
        "fail"
    };
    let known = status.members.len();
    let _ = write!(
        text,
        "cluster_enabled:1\r\ncluster_state:{state}\r\ncluster_slots_assigned:16384\r\n\
         cluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\n\
         cluster_known_nodes:{known}\r\ncluster_size:1\r\ncluster_current_epoch:{term}\r\n\
         cluster_my_epoch:{term}\r\n",
        term = status.term.0
    );
}

/// `INFO cluster`.
pub fn info_cluster_section(ctx: &Ctx<'_>, text: &mut String) {
    // `cluster_info` starts with the `cluster_enabled:1` line Redis's section holds.
    text.push_str("# Cluster\r\n");
    cluster_info(ctx, text);
}

/// `INFO replication`: role, reign ids, offsets and, at the master, every replica's
/// offset and lag.
pub fn info_replication(ctx: &Ctx<'_>, text: &mut String) {
    let status = ctx.status;
    let _ = write!(
        text,
        "# Replication\r\nrole:{}\r\nterm:{}\r\n",
        status.role.name(),
        status.term.0
    );
    if status.role != Role::Master {
        let (host, port) = split_addr(status.master_client_addr().unwrap_or("?:0"));
        let link = if status.master_link_up { "up" } else { "down" };
        let resync = match status.last_resync {
            Some(crate::peer::SyncKind::Full) => "full",
            Some(crate::peer::SyncKind::Base) => "full-from-base",
            Some(crate::peer::SyncKind::Partial) => "partial",
            None => "none",
        };
        let _ = write!(text, "master_last_resync:{resync}\r\n");
        let _ = write!(
            text,
            "master_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{link}\r\n\
             slave_repl_offset:{}\r\n",
            status.aof_end.0
        );
    }
    let _ = write!(text, "connected_slaves:{}\r\n", status.replicas.len());
    for (i, replica) in status.replicas.iter().enumerate() {
        let (host, port) = split_addr(&status.members[replica.node.0 as usize].client_addr);
        let _ = write!(
            text,
            "slave{i}:ip={host},port={port},state={},offset={},lag={}\r\n",
            replica.state,
            replica.acked.0,
            replica.lag_ms / 1000
        );
    }
    let _ = write!(
        text,
        "master_replid:{}\r\nmaster_replid2:{}\r\ncurrent_master_id:{}\r\nlast_master_id:{}\r\n\
         master_repl_offset:{}\r\ncommit_offset:{}\r\n",
        status.current_master_id,
        status.last_master_id,
        status.current_master_id,
        status.last_master_id,
        status.aof_end.0,
        status.commit.0,
    );
}
