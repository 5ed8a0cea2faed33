//! The data directory across restarts of a real `bucket-server`: the AOF manifest, a
//! directory from before manifests, stray files, a damaged manifest.

mod common;

use std::fs;

use common::{run_to_exit, TestServer};
use redis::Commands;

const KEYS: usize = 50;

fn write_keys(server: &TestServer) {
    let mut con = server.client();
    for i in 0..KEYS {
        let _: () = con.set(format!("key{i}"), format!("value{i}")).unwrap();
    }
}

fn assert_keys(server: &TestServer) {
    let mut con = server.client();
    for i in 0..KEYS {
        let value: Option<String> = con.get(format!("key{i}")).unwrap();
        assert_eq!(
            value,
            Some(format!("value{i}")),
            "key{i}:\n{}",
            server.log()
        );
    }
}

/// A directory holding one `appendonly.aof` and no manifest (as written before
/// manifests) starts with its data, and gets a manifest naming that file.
#[test]
fn a_legacy_data_directory_starts_and_keeps_its_data() {
    let mut server = TestServer::start_single(
        "legacy",
        "appendfsync: always\nautoAofRewritePercentage: 50\nautoAofRewriteMinSize: 1mb\n",
    );
    write_keys(&server);
    assert!(server.sigterm().success(), "{}", server.log());
    let data = server.data_path();
    let mut legacy = Vec::new();
    for (path, _) in common::aof_tail_files(&data) {
        legacy.extend(fs::read(&path).unwrap());
        fs::remove_file(&path).unwrap();
    }
    fs::remove_file(data.join("manifest")).unwrap();
    fs::write(data.join("appendonly.aof"), &legacy).unwrap();
    server.start();
    assert_keys(&server);
    assert!(
        server.log().contains("before manifests"),
        "{}",
        server.log()
    );
    let tails = common::aof_tail_files(&data);
    assert_eq!(tails, vec![(data.join("appendonly.aof"), 0)]);
    // Appends go on in the migrated file.
    let mut con = server.client();
    let _: () = con.set("after", "migration").unwrap();
    drop(con);
    server.restart();
    let mut con = server.client();
    let after: Option<String> = con.get("after").unwrap();
    assert_eq!(after.as_deref(), Some("migration"));
}

/// AOF files the manifest does not name are deleted at start, with a log line; files
/// that are not the AOF's stay.
#[test]
fn stray_aof_files_are_deleted_at_start() {
    let mut server = TestServer::start_single("strays", "appendfsync: always\n");
    write_keys(&server);
    server.kill();
    let data = server.data_path();
    let strays = [
        "appendonly.aof.9.base.tmp",
        "appendonly.aof.10.incr",
        "manifest.tmp",
    ];
    for name in strays {
        fs::write(data.join(name), b"left by a crash").unwrap();
    }
    fs::write(data.join("README"), b"not the AOF's").unwrap();
    server.start();
    assert_keys(&server);
    for name in strays {
        assert!(!data.join(name).exists(), "{name} was kept");
        let line = format!(
            "{}: not named by the AOF manifest",
            data.join(name).display()
        );
        assert!(server.log().contains(&line), "{}", server.log());
    }
    assert!(data.join("README").exists());
}

#[test]
fn a_corrupt_manifest_stops_the_start_naming_the_file() {
    let mut server = TestServer::start_single("bad-manifest", "");
    write_keys(&server);
    assert!(server.sigterm().success(), "{}", server.log());
    let manifest = server.data_path().join("manifest");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("tail ", "tall ")).unwrap();
    let output = run_to_exit(&[&server.config_path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: the AOF manifest is corrupt",
            manifest.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one message, got: {stderr}");
}

/// A config for a second node on fresh ports whose `dataPath` is `data_path`.
fn second_config(
    dir: &common::TempDir,
    data_path: &std::path::Path,
    port: u16,
) -> std::path::PathBuf {
    let cluster_port = common::free_ports(1)[0];
    let path = dir.path.join("second.yml");
    let text = format!(
        "host: localhost\nport: {port}\nclusterPort: {cluster_port}\ndataPath: {}\n",
        data_path.display()
    );
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_second_server_on_a_live_data_directory_is_refused_naming_the_holder() {
    let server = TestServer::start_single("locked", "");
    write_keys(&server);
    let dir = common::TempDir::new("locked-second");
    let port = common::free_ports(1)[0];
    let config = second_config(&dir, &server.data_path(), port);
    let output = run_to_exit(&[&config]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let want = format!(
        "dataPath {} is in use by another bucket-server (pid {})",
        server.data_path().display(),
        server.pid()
    );
    assert!(stderr.contains(&want), "{stderr}");
    assert_keys(&server);
}

#[test]
fn a_port_in_use_stops_the_start_before_the_data_directory_is_made() {
    let server = TestServer::start_single("port-taken", "");
    let dir = common::TempDir::new("port-taken-second");
    let data_path = dir.path.join("never-made");
    let config = second_config(&dir, &data_path, server.port);
    let output = run_to_exit(&[&config]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(port)"), "{stderr}");
    assert!(!data_path.exists(), "nothing is left behind");
}

#[test]
fn a_data_path_that_is_a_file_says_so() {
    let dir = common::TempDir::new("path-is-file");
    let file = dir.path.join("a-file");
    fs::write(&file, b"not a directory").unwrap();
    let config = second_config(&dir, &file, common::free_ports(1)[0]);
    let output = run_to_exit(&[&config]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("dataPath {}: not a directory", file.display())),
        "{stderr}"
    );
}
