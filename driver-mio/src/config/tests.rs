use super::*;

fn parse_err(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.0,
    }
}

const THREE_NODE: &str = "\
host: localhost
port: 6555
clusterPort: 16555
clusterNodes:
  - localhost:16554
  - localhost:16556
dataPath: ./data/node2
";

#[test]
fn three_node_config_sorts_members_and_finds_self() {
    let config = parse(THREE_NODE).unwrap();
    let addrs: Vec<&str> = config
        .core
        .members
        .iter()
        .map(|m| m.cluster_addr.as_str())
        .collect();
    assert_eq!(
        addrs,
        ["localhost:16554", "localhost:16555", "localhost:16556"]
    );
    assert_eq!(config.core.self_id, NodeId(1));
    let clients: Vec<&str> = config
        .core
        .members
        .iter()
        .map(|m| m.client_addr.as_str())
        .collect();
    assert_eq!(
        clients,
        ["localhost:6554", "localhost:6555", "localhost:6556"]
    );
    assert_eq!(config.client_listen_addr, "127.0.0.1:6555");
    assert_eq!(config.cluster_listen_addr, "127.0.0.1:16555");
    assert_eq!(config.data_path, PathBuf::from("./data/node2"));
}

#[test]
fn defaults_apply() {
    let config = parse(THREE_NODE).unwrap();
    assert_eq!(config.appendfsync, AppendFsync::Everysec);
    assert_eq!(config.core.heartbeat_ms, 100);
    assert_eq!(config.core.election_timeout_ms_min, 300);
    assert_eq!(config.core.election_timeout_ms_max, 600);
    assert_eq!(config.core.write_quorum, WriteQuorum::Async);
    assert!(config.core.protected_mode);
    assert_eq!(config.core.requirepass, None);
    assert_eq!(config.maxclients, 10_000);
    assert_eq!(config.client_idle_timeout_s, 0);
    assert_eq!(config.log_level, LogLevel::Info);
    assert_eq!(config.core.limits, Limits::default());
    assert_eq!(config.core.aof_rewrite, bucket_core::AofRewrite::default());
}

#[test]
fn every_node_of_a_cluster_derives_the_same_member_order() {
    let configs: Vec<ServerConfig> = [6554u16, 6555, 6556]
        .iter()
        .map(|port| {
            let others: String = [16554u16, 16555, 16556]
                .iter()
                .filter(|p| **p != port + 10_000)
                .map(|p| format!("  - localhost:{p}\n"))
                .collect();
            parse(&format!(
                "host: localhost\nport: {port}\nclusterNodes:\n{others}dataPath: d\n"
            ))
            .unwrap()
        })
        .collect();
    for (i, config) in configs.iter().enumerate() {
        assert_eq!(
            config.core.members, configs[0].core.members,
            "#{i}: members differ"
        );
        assert_eq!(config.core.self_id, NodeId(i as u32), "#{i}: self id");
    }
}

/// The seed's example leaves out `clusterPort`; it defaults to `port + 10000`.
#[test]
fn seed_style_without_cluster_port() {
    let text = "host: localhost\nport: 6554\nclusterNodes:\n  - localhost:16555\n  - localhost:16556\ndataPath: ./config1\n";
    let config = parse(text).unwrap();
    assert_eq!(config.cluster_listen_addr, "127.0.0.1:16554");
    assert_eq!(config.self_member().cluster_addr, "localhost:16554");
    assert_eq!(config.self_member().client_addr, "localhost:6554");
    assert_eq!(config.core.self_id, NodeId(0));
}

#[test]
fn single_node_without_cluster_nodes() {
    let config = parse("host: localhost\nport: 6554\ndataPath: ./data/single\n").unwrap();
    assert_eq!(config.core.members.len(), 1);
    assert_eq!(config.core.self_id, NodeId(0));
}

#[test]
fn every_optional_key_is_read() {
    let text = "\
host: 10.0.0.1
port: 7000
clusterPort: 17001
dataPath: /var/lib/bucket
bind: 0.0.0.0
appendfsync: always
heartbeatMs: 50
electionTimeoutMsMin: 200
electionTimeoutMsMax: 400
writeQuorum: majority
requirepass: hunter2
protectedMode: false
clusterSecret: s3cret
maxclients: 50
clientOutputBufferLimitBytes: 1000
replicaOutputBufferLimitBytes: 2000
protoMaxBulkLen: 3000
clientQueryBufferLimitBytes: 4000
timeout: 30
logLevel: debug
autoAofRewritePercentage: 50
autoAofRewriteMinSize: 1gb
maxmemory: 100mb
maxmemoryPolicy: allkeys-lfu
maxmemorySamples: 10
clusterAllowReadsWhenDown: true
";
    let config = parse(text).unwrap();
    assert_eq!(config.client_listen_addr, "0.0.0.0:7000");
    assert_eq!(config.cluster_listen_addr, "0.0.0.0:17001");
    assert_eq!(config.appendfsync, AppendFsync::Always);
    assert_eq!(config.core.heartbeat_ms, 50);
    assert_eq!(config.core.write_quorum, WriteQuorum::Majority);
    assert_eq!(config.core.requirepass.as_deref(), Some(&b"hunter2"[..]));
    assert!(!config.core.protected_mode);
    assert_eq!(config.cluster_secret.as_deref(), Some("s3cret"));
    assert_eq!(config.maxclients, 50);
    assert_eq!(config.client_output_buffer_limit_bytes, 1000);
    assert_eq!(config.replica_output_buffer_limit_bytes, 2000);
    assert_eq!(config.core.limits.bulk_len_max, 3000);
    assert_eq!(config.core.limits.query_buffer_bytes_max, 4000);
    assert_eq!(config.client_idle_timeout_s, 30);
    assert_eq!(config.log_level, LogLevel::Debug);
    let limit = config.core.maxmemory;
    assert_eq!(limit.bytes, 100 << 20);
    assert_eq!(limit.policy, bucket_core::memory::Policy::AllKeysLfu);
    assert_eq!(limit.samples, 10);
    assert!(config.core.cluster_allow_reads_when_down);
    assert_eq!(config.core.aof_rewrite.percentage, 50);
    assert_eq!(config.core.aof_rewrite.min_size_bytes, 1 << 30);
}

#[test]
fn aof_rewrite_sizes_read_as_redis_reads_them() {
    let cases: &[(&str, Result<u64, &str>)] = &[
        ("67108864", Ok(64 << 20)),
        ("0", Ok(0)),
        ("'64mb'", Ok(64 << 20)),
        ("64MB", Ok(64 << 20)),
        ("64m", Ok(64_000_000)),
        ("1k", Ok(1000)),
        ("1kb", Ok(1024)),
        ("2g", Ok(2_000_000_000)),
        ("2gb", Ok(2 << 30)),
        ("512b", Ok(512)),
        ("' 8mb '", Ok(8 << 20)),
        ("-1", Err("must be a size in bytes")),
        ("64 mb", Err("unknown unit")),
        ("1.5gb", Err("unknown unit")),
        ("mb", Err("must be a size in bytes")),
        ("64tb", Err("unknown unit")),
        ("[64]", Err("must be a size in bytes")),
        ("99999999999gb", Err("is more than")),
    ];
    for (i, (written, want)) in cases.iter().enumerate() {
        let text = format!("host: h\nport: 6554\ndataPath: d\nautoAofRewriteMinSize: {written}\n");
        let got = parse(&text).map(|c| c.core.aof_rewrite.min_size_bytes);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, *want, "#{i} {written}"),
            (Err(e), Err(want)) => {
                assert!(e.0.contains(want), "#{i} {written}: {e}, want {want:?}");
                assert!(e.0.contains("line 4: `autoAofRewriteMinSize`"), "#{i}: {e}");
            }
            (got, want) => panic!("#{i} {written}: got {got:?}, want {want:?}"),
        }
    }
}

/// Each bad config names the key and the line it is on.
#[test]
fn errors_name_key_and_line() {
    let base = "host: localhost\nport: 6554\n";
    let cases: &[(&str, &str, &str)] = &[
        ("unknown key", "host: localhost\nport: 6554\ndataPath: d\nportt: 3\n", "line 4"),
        ("unknown key named", "host: localhost\nport: 6554\ndataPath: d\nportt: 3\n", "portt"),
        ("wrong type", "host: localhost\nport: many\ndataPath: d\n", "line 2"),
        ("wrong type named", "host: localhost\nport: many\ndataPath: d\n", "port"),
        ("port out of range", "host: localhost\nport: 70000\ndataPath: d\n", "line 2"),
        ("port zero", "host: localhost\nport: 0\ndataPath: d\n", "line 2: `port`"),
        (
            "cluster port zero",
            "host: localhost\nport: 1\nclusterPort: 0\ndataPath: d\n",
            "line 3: `clusterPort`",
        ),
        ("empty dataPath", "host: localhost\nport: 6554\ndataPath: ''\n", "line 3: `dataPath`"),
        ("missing dataPath", base, "dataPath"),
        (
            "self in clusterNodes",
            "host: localhost\nport: 6554\nclusterNodes:\n  - localhost:16555\n  - localhost:16554\ndataPath: d\n",
            "line 5: `clusterNodes` entry `localhost:16554`: lists this node itself",
        ),
        (
            "duplicate peer",
            "host: localhost\nport: 6554\nclusterNodes:\n  - localhost:16555\n  - localhost:16555\ndataPath: d\n",
            "line 5: `clusterNodes` entry `localhost:16555`: is listed twice",
        ),
        (
            "peer without port",
            "host: localhost\nport: 6554\nclusterNodes:\n  - localhost\ndataPath: d\n",
            "line 4: `clusterNodes` entry `localhost`",
        ),
        (
            "bad appendfsync",
            "host: localhost\nport: 6554\ndataPath: d\nappendfsync: sometimes\n",
            "line 4",
        ),
        (
            "election bounds",
            "host: localhost\nport: 6554\ndataPath: d\nelectionTimeoutMsMin: 500\nelectionTimeoutMsMax: 400\n",
            "line 5: `electionTimeoutMsMax`",
        ),
        (
            "heartbeat too slow",
            "host: localhost\nport: 6554\ndataPath: d\nheartbeatMs: 300\n",
            "line 4: `heartbeatMs`",
        ),
        ("bad log level", "host: h\nport: 6554\ndataPath: d\nlogLevel: loud\n", "line 4: `logLevel`"),
        ("maxclients zero", "host: h\nport: 6554\ndataPath: d\nmaxclients: 0\n", "line 4"),
        ("negative timeout", "host: h\nport: 6554\ndataPath: d\ntimeout: -1\n", "line 4"),
        (
            "negative rewrite percentage",
            "host: h\nport: 6554\ndataPath: d\nautoAofRewritePercentage: -5\n",
            "line 4",
        ),
        (
            "rewrite percentage named",
            "host: h\nport: 6554\ndataPath: d\nautoAofRewritePercentage: lots\n",
            "autoAofRewritePercentage",
        ),
        (
            "query buffer over the largest record",
            "host: h\nport: 6554\ndataPath: d\nclientQueryBufferLimitBytes: 4294967296\n",
            "`clientQueryBufferLimitBytes`: must be at most 1073741824",
        ),
        (
            "bad maxmemory policy",
            "host: h\nport: 6554\ndataPath: d\nmaxmemoryPolicy: lru\n",
            "`maxmemoryPolicy`: must be one of noeviction, allkeys-lru",
        ),
        (
            "maxmemory samples out of range",
            "host: h\nport: 6554\ndataPath: d\nmaxmemorySamples: 100\n",
            "`maxmemorySamples`: must be from 1 to 64, got 100",
        ),
        (
            "bad maxmemory",
            "host: h\nport: 6554\ndataPath: d\nmaxmemory: lots\n",
            "`maxmemory`",
        ),
        (
            "bad rewrite size",
            "host: h\nport: 6554\ndataPath: d\nautoAofRewriteMinSize: huge\n",
            "line 4: `autoAofRewriteMinSize`",
        ),
    ];
    for (i, (name, text, want)) in cases.iter().enumerate() {
        let got = parse_err(text);
        assert!(
            got.contains(want),
            "#{i} {name}: error = {got:?}, want it to contain {want:?}"
        );
        assert!(
            !got.contains('\n'),
            "#{i} {name}: error is not one line: {got:?}"
        );
    }
}

#[test]
fn load_prefixes_the_file_name() {
    let dir = std::env::temp_dir().join(format!("bucket-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yml");
    std::fs::write(&path, "host: localhost\nport: 0\ndataPath: d\n").unwrap();
    let err = load(&path).unwrap_err().0;
    assert!(
        err.starts_with(&format!("{}: line 2", path.display())),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
