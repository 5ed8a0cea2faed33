//! Outputs as short lines, so that a scenario can compare a node's whole output list,
//! in order, with what it expects: `send n1 data@120 [set a 1]`, `append@120 [set a 1]`,
//! `reply c3 [+OK, $1]`.

use bucket_core::aof::record::decode as decode_record;
use bucket_core::aof::Effect;
use bucket_core::peer::{decode as decode_message, Message};
use bucket_core::resp::{parse_reply, Reply};
use bucket_core::Output;

/// One output as a line; `None` for log lines, which scenarios do not compare.
pub fn output(output: &Output) -> Option<String> {
    let line = match output {
        Output::Send { peer, frame } => format!("send n{} {}", peer.0, message(frame)),
        Output::AppendAof { offset, bytes } => format!("append@{} {}", offset.0, records(bytes)),
        Output::TruncateAof { offset } => format!("truncate@{}", offset.0),
        Output::SyncAof => "sync".to_string(),
        Output::PersistMeta { .. } => "persist meta".to_string(),
        Output::StreamAof { peer, start, .. } => format!("stream n{} from {}", peer.0, start.0),
        Output::Reply { conn, bytes } => format!("reply c{} [{}]", conn.0, replies(bytes)),
        Output::Close { conn } => format!("close c{}", conn.0),
        Output::ResetPeer { peer } => format!("reset n{}", peer.0),
        Output::BeginBase { offset, kind } => format!("begin base {kind:?}@{}", offset.0),
        Output::WriteBase { bytes } => format!("write base {} bytes", bytes.len()),
        Output::FinishBase => "finish base".to_string(),
        Output::AbandonBase => "abandon base".to_string(),
        Output::StreamBase { peer, .. } => format!("stream base to n{}", peer.0),
        Output::ApplySettings(settings) => format!("apply {settings:?}"),
        Output::Log { .. } => return None,
    };
    Some(line)
}

fn message(frame: &[u8]) -> String {
    match decode_message(frame) {
        Ok(Message::Data { offset, bytes, .. }) => format!("data@{} {}", offset.0, records(bytes)),
        Ok(Message::Ack { end, .. }) => format!("ack {}", end.0),
        Ok(Message::Heartbeat { commit, .. }) => format!("heartbeat commit {}", commit.0),
        Ok(Message::HeartbeatAck { .. }) => "heartbeat ack".to_string(),
        Ok(other) => format!("{other:?}"),
        Err(error) => format!("bad frame: {error}"),
    }
}

/// The records of whole-record AOF bytes: `[set a 1, del b]`.
fn records(mut bytes: &[u8]) -> String {
    let mut effects = Vec::new();
    while !bytes.is_empty() {
        let Ok((record, used)) = decode_record(bytes) else {
            effects.push("a torn record".to_string());
            break;
        };
        effects.push(effect(&record.effect));
        bytes = &bytes[used..];
    }
    format!("[{}]", effects.join(", "))
}

fn effect(effect: &Effect<'_>) -> String {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match effect {
        Effect::Set { key, value, .. } | Effect::SetKeepTtl { key, value } => {
            format!("set {} {}", text(key), text(value))
        }
        Effect::Del { key } => format!("del {}", text(key)),
        Effect::Expire { key, .. } => format!("expire {}", text(key)),
        Effect::Persist { key } => format!("persist {}", text(key)),
        Effect::FlushAll => "flushall".to_string(),
        Effect::ReignStart { .. } => "reign start".to_string(),
        Effect::Rename { from, to } => format!("rename {} {}", text(from), text(to)),
        Effect::Copy { from, to } => format!("copy {} {}", text(from), text(to)),
        collection => format!("{collection:?}"),
    }
}

/// Whole replies as `+OK, $v, :1, -UNKNOWN`: an error by its first word.
fn replies(mut bytes: &[u8]) -> String {
    let mut shown = Vec::new();
    while !bytes.is_empty() {
        let Ok(Some((reply, used))) = parse_reply(bytes) else {
            shown.push("a broken reply".to_string());
            break;
        };
        shown.push(reply_line(&reply));
        bytes = &bytes[used..];
    }
    shown.join(", ")
}

fn reply_line(reply: &Reply) -> String {
    match reply {
        Reply::Simple(text) => format!("+{text}"),
        Reply::Error(text) => format!("-{}", text.split(' ').next().unwrap_or_default()),
        Reply::Integer(n) => format!(":{n}"),
        Reply::Bulk(bytes) => format!("${}", String::from_utf8_lossy(bytes)),
        Reply::Nil => "$nil".to_string(),
        other => format!("{other:?}"),
    }
}
