//! CONFIG GET and CONFIG SET for the daemon's settings (`timeout`, `maxclients`,
//! `loglevel`, `appendfsync`), with Redis 7's replies: a change reaches the driver as one
//! `ApplySettings`, a bad value or a fixed setting is refused by name, and a refused
//! CONFIG SET changes nothing.

mod common;

use bucket_core::resp::Reply;
use bucket_core::settings::{AppendFsync, DaemonSettings};
use bucket_core::{LogLevel, Output};
use common::*;

fn applied(out: &[Output]) -> Vec<&DaemonSettings> {
    out.iter()
        .filter_map(|o| match o {
            Output::ApplySettings(settings) => Some(settings),
            _ => None,
        })
        .collect()
}

fn config_get(t: &mut TestNode, conn: bucket_core::ConnectionId, name: &str) -> Reply {
    t.cmd(conn, &["CONFIG", "GET", name])
}

fn pair(name: &str, value: &str) -> Reply {
    Reply::Array(vec![bulk(name), bulk(value)])
}

#[test]
fn config_get_reports_the_settings_the_driver_started_with() {
    let mut config = config();
    config.daemon = DaemonSettings {
        timeout_s: 30,
        maxclients: 50,
        loglevel: LogLevel::Debug,
        appendfsync: AppendFsync::Always,
    };
    let mut t = TestNode::with_config(config, 7);
    let conn = t.connect();
    assert_eq!(config_get(&mut t, conn, "timeout"), pair("timeout", "30"));
    assert_eq!(
        config_get(&mut t, conn, "maxclients"),
        pair("maxclients", "50")
    );
    assert_eq!(
        config_get(&mut t, conn, "loglevel"),
        pair("loglevel", "debug")
    );
    assert_eq!(
        config_get(&mut t, conn, "appendfsync"),
        pair("appendfsync", "always")
    );
}

#[test]
fn config_set_changes_the_settings_and_tells_the_driver_once() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let request = encode(&[
        "CONFIG",
        "SET",
        "timeout",
        "5",
        "maxclients",
        "77",
        "loglevel",
        "warning",
        "appendfsync",
        "no",
    ]);
    let out = t.send(conn, &request);
    assert_eq!(
        parse_replies(&TestNode::reply_bytes(&out, conn)),
        vec![ok()]
    );
    let want = DaemonSettings {
        timeout_s: 5,
        maxclients: 77,
        loglevel: LogLevel::Warn,
        appendfsync: AppendFsync::No,
    };
    assert_eq!(applied(&out), [&want]);
    assert_eq!(config_get(&mut t, conn, "timeout"), pair("timeout", "5"));
    assert_eq!(
        config_get(&mut t, conn, "loglevel"),
        pair("loglevel", "warning")
    );
    // Setting what is already set tells the driver nothing.
    let out = t.send(conn, &encode(&["CONFIG", "SET", "timeout", "5"]));
    assert!(applied(&out).is_empty(), "{out:?}");
    // Redis's `verbose` is Bucket's debug level.
    let out = t.send(conn, &encode(&["CONFIG", "SET", "loglevel", "verbose"]));
    assert_eq!(applied(&out)[0].loglevel, LogLevel::Debug);
}

#[test]
fn config_set_refuses_bad_values_with_redis_errors_and_changes_nothing() {
    let mut t = TestNode::new();
    let conn = t.connect();
    let failed = |name: &str, why: &str| {
        err(&format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    };
    let cases: [(&[&str], Reply); 8] = [
        (
            &["timeout", "x"],
            failed("timeout", "argument couldn't be parsed into an integer"),
        ),
        (
            &["timeout", "-1"],
            failed(
                "timeout",
                "argument must be between 0 and 2147483647 inclusive",
            ),
        ),
        (
            &["maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            &["loglevel", "loud"],
            failed(
                "loglevel",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
        ),
        (
            &["appendfsync", "sometimes"],
            failed(
                "appendfsync",
                "argument(s) must be one of the following: everysec, always, no",
            ),
        ),
        // All or nothing: the good timeout before the bad maxclients is not applied.
        (
            &["timeout", "9", "maxclients", "0"],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            &["timeout", "5", "TIMEOUT", "6"],
            failed("TIMEOUT", "duplicate parameter"),
        ),
        (
            &["nosuch", "1"],
            err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
        ),
    ];
    for (args, want) in cases {
        let mut request = vec!["CONFIG", "SET"];
        request.extend_from_slice(args);
        let out = t.send(conn, &encode(&request));
        assert_eq!(
            parse_replies(&TestNode::reply_bytes(&out, conn)),
            vec![want],
            "{args:?}"
        );
        assert!(applied(&out).is_empty(), "{args:?}: {out:?}");
    }
    assert_eq!(config_get(&mut t, conn, "timeout"), pair("timeout", "0"));
}

#[test]
fn config_set_names_the_settings_that_cannot_change_at_runtime() {
    let mut t = TestNode::new();
    let conn = t.connect();
    for (name, why) in [
        ("port", "can't set immutable config"),
        ("cluster-enabled", "can't set immutable config"),
        ("appendonly", "can't set immutable config"),
        ("databases", "can't set immutable config"),
        ("dir", "can't set protected config"),
    ] {
        let want = format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}");
        assert_eq!(t.cmd(conn, &["CONFIG", "SET", name, "1"]), err(&want));
    }
}
