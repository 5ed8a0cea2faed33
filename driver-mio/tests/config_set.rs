//! CONFIG SET of the daemon's settings on a real `bucket-server`: the driver applies
//! `maxclients`, `timeout`, `loglevel` and `appendfsync` at once, without a restart.

mod common;

use std::time::{Duration, Instant};

use common::{resp_command, RawClient, TestServer, REPLY_TIMEOUT};
use redis::Commands;

fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let reply: String = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .unwrap_or_else(|e| panic!("CONFIG SET {name} {value}: {e}"));
    assert_eq!(reply, "OK");
}

#[test]
fn maxclients_and_timeout_take_effect_at_once() {
    let server = TestServer::start_single("config-set-clients", "");
    let mut admin = server.client();
    config_set(&mut admin, "maxclients", "1");
    let want = "-ERR max number of clients reached\r\n";
    let got = common::raw_exchange(server.port, &resp_command(&["PING"]), want.len());
    assert_eq!(String::from_utf8_lossy(&got), want, "{}", server.log());
    config_set(&mut admin, "maxclients", "10");
    let got = common::raw_exchange(server.port, &resp_command(&["PING"]), 7);
    assert_eq!(got, b"+PONG\r\n");

    config_set(&mut admin, "timeout", "1");
    let mut idle = RawClient::connect(server.port);
    idle.send(&resp_command(&["PING"])).unwrap();
    assert_eq!(
        idle.read_until(|got| got.ends_with(b"\r\n"), REPLY_TIMEOUT),
        b"+PONG\r\n"
    );
    let started = Instant::now();
    let mut closed = false;
    while !closed && started.elapsed() < Duration::from_secs(6) {
        closed = idle.read_until_closed(Duration::from_millis(300)).1;
        // The admin stays busy, so only the idle client runs out its timeout.
        let pong: String = redis::cmd("PING").query(&mut admin).unwrap();
        assert_eq!(pong, "PONG");
    }
    assert!(
        closed,
        "idle for {:?}:\n{}",
        started.elapsed(),
        server.log()
    );
}

#[test]
fn appendfsync_and_loglevel_change_while_writes_go_on() {
    let mut server = TestServer::start_single("config-set-fsync", "");
    let mut con = server.client();
    for (i, policy) in ["always", "no", "everysec"].into_iter().enumerate() {
        config_set(&mut con, "appendfsync", policy);
        let _: () = con.set(format!("key{i}"), policy).unwrap();
        let got: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendfsync")
            .query(&mut con)
            .unwrap();
        assert_eq!(got, ["appendfsync", policy]);
    }
    let log = server.log();
    assert!(log.contains("appendfsync always"), "{log}");
    let everysec_threads = log.matches("fsync thread aof-fsync started").count();
    assert_eq!(everysec_threads, 2, "at start and on going back:\n{log}");

    config_set(&mut con, "loglevel", "debug");
    drop(server.client());
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while !server.log().contains("DEBUG client ") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.log().contains("DEBUG client "), "{}", server.log());

    drop(con);
    server.restart();
    let mut con = server.client();
    for (i, policy) in ["always", "no", "everysec"].into_iter().enumerate() {
        let value: Option<String> = con.get(format!("key{i}")).unwrap();
        assert_eq!(value.as_deref(), Some(policy));
    }
}
