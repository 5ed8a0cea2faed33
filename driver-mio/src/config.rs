//! `bucket-server <config.yml>`: the YAML config file, checked once at start.
//!
//! Keys from the seed: `host`, `port`, `clusterPort` (default `port + 10000`),
//! `clusterNodes` (`host:clusterPort` of the *other* nodes) and `dataPath`. Every further
//! key has a default. An unknown key, a wrong type or an impossible value stops the start
//! with one message that names the key and its line.
//!
//! Members and ids: the members are this node plus `clusterNodes`, sorted by cluster
//! address, so every node derives the same order and therefore the same `NodeId`s, as
//! long as every node spells each address the same way (the peer hello carries the
//! sender's cluster address and a mismatch is refused, so a misspelling cannot pass
//! silently).
//!
//! Client addresses of other members: the seed lists only cluster addresses, yet the
//! core names the master's client address in `-MOVED` redirects. Until a peer's hello
//! says otherwise, a member's client address is derived as `host:(clusterPort - 10000)`,
//! which matches the default `clusterPort = port + 10000`. The hello carries the
//! sender's real client address, from which the core learns it.

use std::fmt;
use std::path::{Path, PathBuf};

use bucket_core::memory::{MaxMemory, Policy, SAMPLES_MAX, SAMPLES_MIN};
use bucket_core::{AofRewrite, Config, Limits, LogLevel, Member, NodeId, WriteQuorum};
use serde::Deserialize;

use crate::log;

/// Distance between a node's client port and its default cluster port (as in Redis).
pub const CLUSTER_PORT_OFFSET: u16 = 10_000;

pub use bucket_core::settings::AppendFsync;

/// The file as written. Every field the seed does not name is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileConfig {
    host: String,
    port: u16,
    cluster_port: Option<u16>,
    #[serde(default)]
    cluster_nodes: Vec<String>,
    data_path: String,
    bind: Option<String>,
    #[serde(default)]
    appendfsync: FileAppendFsync,
    #[serde(default = "defaults::heartbeat_ms")]
    heartbeat_ms: u64,
    #[serde(default = "defaults::election_timeout_ms_min")]
    election_timeout_ms_min: u64,
    #[serde(default = "defaults::election_timeout_ms_max")]
    election_timeout_ms_max: u64,
    #[serde(default)]
    write_quorum: FileWriteQuorum,
    requirepass: Option<String>,
    #[serde(default = "defaults::protected_mode")]
    protected_mode: bool,
    #[serde(default)]
    cluster_allow_reads_when_down: bool,
    cluster_secret: Option<String>,
    #[serde(default = "defaults::maxclients")]
    maxclients: usize,
    #[serde(default = "defaults::client_output_buffer_limit_bytes")]
    client_output_buffer_limit_bytes: usize,
    #[serde(default = "defaults::replica_output_buffer_limit_bytes")]
    replica_output_buffer_limit_bytes: usize,
    proto_max_bulk_len: Option<usize>,
    client_query_buffer_limit_bytes: Option<usize>,
    #[serde(default)]
    timeout: u64,
    log_level: Option<String>,
    #[serde(default = "defaults::auto_aof_rewrite_percentage")]
    auto_aof_rewrite_percentage: u64,
    /// Bytes as a number, or with a Redis unit (`64mb`); read by `parse_size`.
    auto_aof_rewrite_min_size: Option<serde_yaml::Value>,
    /// Bytes, as `autoAofRewriteMinSize`; 0 (the default) is no limit.
    maxmemory: Option<serde_yaml::Value>,
    maxmemory_policy: Option<String>,
    maxmemory_samples: Option<u32>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FileWriteQuorum {
    #[default]
    Async,
    Majority,
}

/// The file's spelling of `AppendFsync`.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FileAppendFsync {
    Always,
    #[default]
    Everysec,
    No,
}

impl From<FileAppendFsync> for AppendFsync {
    fn from(policy: FileAppendFsync) -> AppendFsync {
        match policy {
            FileAppendFsync::Always => AppendFsync::Always,
            FileAppendFsync::Everysec => AppendFsync::Everysec,
            FileAppendFsync::No => AppendFsync::No,
        }
    }
}

mod messages;

mod defaults {
    pub fn heartbeat_ms() -> u64 {
        100
    }
    pub fn election_timeout_ms_min() -> u64 {
        300
    }
    pub fn election_timeout_ms_max() -> u64 {
        600
    }
    pub fn protected_mode() -> bool {
        true
    }
    pub fn maxclients() -> usize {
        10_000
    }
    /// Redis leaves normal clients unbounded; we bound every buffer, generously.
    pub fn client_output_buffer_limit_bytes() -> usize {
        256 * 1024 * 1024
    }
    /// Redis's default hard limit for replicas.
    pub fn replica_output_buffer_limit_bytes() -> usize {
        256 * 1024 * 1024
    }
    pub fn auto_aof_rewrite_percentage() -> u64 {
        bucket_core::AofRewrite::default().percentage
    }
}

/// Everything the daemon needs: the core's config plus what only the driver uses.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub core: Config,
    /// `bind:port`, where the client listener listens.
    pub client_listen_addr: String,
    /// `bind:clusterPort`, where the cluster listener listens.
    pub cluster_listen_addr: String,
    pub data_path: PathBuf,
    pub appendfsync: AppendFsync,
    pub cluster_secret: Option<String>,
    pub maxclients: usize,
    pub client_output_buffer_limit_bytes: usize,
    pub replica_output_buffer_limit_bytes: usize,
    /// Idle clients are closed after this many seconds; zero turns it off.
    pub client_idle_timeout_s: u64,
    pub log_level: LogLevel,
}

impl ServerConfig {
    pub fn self_member(&self) -> &Member {
        &self.core.members[self.core.self_id.0 as usize]
    }
}

/// A config that cannot start the node: one line, naming the file, key and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFileError(pub String);

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn load(path: &Path) -> Result<ServerConfig, ConfigFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigFileError(format!("{}: cannot read: {e}", path.display())))?;
    parse(&text).map_err(|e| ConfigFileError(format!("{}: {}", path.display(), e.0)))
}

/// Parses and checks the text of a config file. Errors name the key and line.
pub fn parse(text: &str) -> Result<ServerConfig, ConfigFileError> {
    let file: FileConfig = serde_yaml::from_str(text).map_err(|e| yaml_error(&e))?;
    let checker = Checker { text };
    checker.check_ports(&file)?;
    checker.check_values(&file)?;
    let members = checker.members(&file)?;
    build(&checker, file, members)
}

/// serde_yaml's message already names the key (`unknown field `x``, `port: invalid
/// type`); put the line first so the message reads like a compiler's.
fn yaml_error(error: &serde_yaml::Error) -> ConfigFileError {
    match error.location() {
        Some(at) => {
            let text = error.to_string();
            let suffix = format!(" at line {} column {}", at.line(), at.column());
            let message = text.strip_suffix(&suffix).unwrap_or(&text);
            let message = messages::humanize(message);
            ConfigFileError(format!("line {}: {message}", at.line()))
        }
        None => ConfigFileError(messages::humanize(&error.to_string())),
    }
}

struct Checker<'a> {
    text: &'a str,
}

impl Checker<'_> {
    /// The 1-based line where `key:` is written, if it is.
    fn line_of_key(&self, key: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|line| {
                let line = line.trim_start();
                line.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map(|i| i + 1)
    }

    /// The 1-based line of the last list item whose value is `value` (the last, so a
    /// duplicate is reported where it repeats).
    fn line_of_item(&self, value: &str) -> Option<usize> {
        let lines: Vec<&str> = self.text.lines().collect();
        lines
            .iter()
            .rposition(|line| {
                let line = line.trim_start();
                line.strip_prefix('-').is_some_and(|rest| {
                    rest.trim().trim_matches(|c| c == '"' || c == '\'') == value.trim()
                })
            })
            .map(|i| i + 1)
    }

    /// The first of `keys` written in the file (a relation between a key and a default
    /// is blamed on the key the user wrote).
    fn written<'k>(&self, keys: &[&'k str]) -> &'k str {
        let found = keys.iter().find(|key| self.line_of_key(key).is_some());
        found.copied().unwrap_or(keys[0])
    }

    fn fail(&self, key: &str, problem: impl fmt::Display) -> ConfigFileError {
        match self.line_of_key(key) {
            Some(line) => ConfigFileError(format!("line {line}: `{key}`: {problem}")),
            None => ConfigFileError(format!("`{key}`: {problem}")),
        }
    }

    fn fail_item(&self, key: &str, item: &str, problem: impl fmt::Display) -> ConfigFileError {
        match self.line_of_item(item).or_else(|| self.line_of_key(key)) {
            Some(line) => {
                ConfigFileError(format!("line {line}: `{key}` entry `{item}`: {problem}"))
            }
            None => ConfigFileError(format!("`{key}` entry `{item}`: {problem}")),
        }
    }

    fn check_ports(&self, file: &FileConfig) -> Result<(), ConfigFileError> {
        if file.host.trim().is_empty() {
            return Err(self.fail("host", "must not be empty"));
        }
        if file.port == 0 {
            return Err(self.fail("port", "must be between 1 and 65535"));
        }
        let cluster_port = cluster_port_of(file).ok_or_else(|| {
            self.fail(
                "port",
                "port + 10000 exceeds 65535; set `clusterPort` explicitly",
            )
        })?;
        if cluster_port == 0 {
            return Err(self.fail("clusterPort", "must be between 1 and 65535"));
        }
        if cluster_port == file.port {
            return Err(self.fail("clusterPort", "must differ from `port`"));
        }
        Ok(())
    }

    fn check_values(&self, file: &FileConfig) -> Result<(), ConfigFileError> {
        if file.data_path.trim().is_empty() {
            return Err(self.fail("dataPath", "must not be empty"));
        }
        if file.heartbeat_ms == 0 {
            return Err(self.fail("heartbeatMs", "must be at least 1"));
        }
        if file.election_timeout_ms_min <= file.heartbeat_ms {
            let key = self.written(&["electionTimeoutMsMin", "heartbeatMs"]);
            return Err(self.fail(
                key,
                "the election timeout must be longer than the heartbeat",
            ));
        }
        if file.election_timeout_ms_max <= file.election_timeout_ms_min {
            let key = self.written(&["electionTimeoutMsMax", "electionTimeoutMsMin"]);
            return Err(self.fail(key, "electionTimeoutMsMax must exceed electionTimeoutMsMin"));
        }
        let positive = [
            ("maxclients", file.maxclients),
            (
                "clientOutputBufferLimitBytes",
                file.client_output_buffer_limit_bytes,
            ),
            (
                "replicaOutputBufferLimitBytes",
                file.replica_output_buffer_limit_bytes,
            ),
            ("protoMaxBulkLen", file.proto_max_bulk_len.unwrap_or(1)),
            (
                "clientQueryBufferLimitBytes",
                file.client_query_buffer_limit_bytes.unwrap_or(1),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(self.fail(key, "must be positive"));
        }
        if let Some(level) = &file.log_level {
            if log::parse_level(level).is_none() {
                return Err(self.fail("logLevel", "must be one of error, warn, info, debug"));
            }
        }
        if file.cluster_secret.as_deref() == Some("") {
            return Err(self.fail("clusterSecret", "must not be empty (leave it out instead)"));
        }
        Ok(())
    }

    /// This node and every `clusterNodes` entry, sorted by cluster address.
    fn members(&self, file: &FileConfig) -> Result<(Vec<Member>, NodeId), ConfigFileError> {
        let self_cluster_addr = format!("{}:{}", file.host, cluster_port_of(file).unwrap_or(0));
        let mut members = vec![Member {
            client_addr: format!("{}:{}", file.host, file.port),
            cluster_addr: self_cluster_addr.clone(),
        }];
        for (i, entry) in file.cluster_nodes.iter().enumerate() {
            let member = self.peer_member(entry)?;
            if same_addr(&member.cluster_addr, &self_cluster_addr) {
                return Err(self.fail_item("clusterNodes", entry, "lists this node itself"));
            }
            let earlier = &file.cluster_nodes[..i];
            if earlier
                .iter()
                .any(|e| same_addr(e.trim(), &member.cluster_addr))
            {
                return Err(self.fail_item("clusterNodes", entry, "is listed twice"));
            }
            members.push(member);
        }
        members.sort_by(|a, b| a.cluster_addr.cmp(&b.cluster_addr));
        let self_index = members
            .iter()
            .position(|m| m.cluster_addr == self_cluster_addr)
            .expect("this node was pushed into the member list above");
        Ok((members, NodeId(self_index as u32)))
    }

    fn peer_member(&self, entry: &str) -> Result<Member, ConfigFileError> {
        let entry_trimmed = entry.trim();
        let (host, port_text) = entry_trimmed
            .rsplit_once(':')
            .ok_or_else(|| self.fail_item("clusterNodes", entry, "must be host:clusterPort"))?;
        let port: u16 = port_text
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| self.fail_item("clusterNodes", entry, "port must be 1..65535"))?;
        if host.is_empty() {
            return Err(self.fail_item("clusterNodes", entry, "host must not be empty"));
        }
        let client_port = port.checked_sub(CLUSTER_PORT_OFFSET).filter(|p| *p != 0).ok_or_else(
            || self.fail_item("clusterNodes", entry, "cluster port must be above 10000 so the client port (clusterPort - 10000) can be derived"),
        )?;
        Ok(Member {
            client_addr: format!("{host}:{client_port}"),
            cluster_addr: format!("{host}:{port}"),
        })
    }
}

/// A size in bytes, as Redis reads one: a plain number of bytes, or a number with a
/// unit, case-insensitive: `k`, `m`, `g` for powers of 1000, `kb`, `mb`, `gb` for
/// powers of 1024, `b` for bytes (`64mb` is 67108864).
pub fn parse_size(value: &serde_yaml::Value) -> Result<u64, String> {
    const EXPECTED: &str = "must be a size in bytes, like 67108864 or 64mb";
    let text = match value {
        serde_yaml::Value::Number(n) => return n.as_u64().ok_or_else(|| EXPECTED.to_string()),
        serde_yaml::Value::String(text) => text.trim().to_ascii_lowercase(),
        _ => return Err(EXPECTED.to_string()),
    };
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("{EXPECTED} (unknown unit `{unit}`)")),
    };
    let number: u64 = number.parse().map_err(|_| EXPECTED.to_string())?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text} is more than {} bytes", u64::MAX))
}

/// A request the query buffer takes must make a record the AOF can frame
/// (`Config::validate` holds the same).
fn check_request_limits(limits: &Limits, checker: &Checker<'_>) -> Result<(), ConfigFileError> {
    let record_max = bucket_core::aof::record::RECORD_PAYLOAD_BYTES_MAX;
    if limits.query_buffer_bytes_max > record_max {
        let problem = format!("must be at most {record_max} (the largest AOF record)");
        return Err(checker.fail("clientQueryBufferLimitBytes", problem));
    }
    Ok(())
}

/// `maxmemory`, `maxmemoryPolicy` and `maxmemorySamples`, with Redis's defaults.
fn memory_limit(file: &FileConfig, checker: &Checker<'_>) -> Result<MaxMemory, ConfigFileError> {
    let defaults = MaxMemory::default();
    let bytes = match &file.maxmemory {
        Some(value) => parse_size(value).map_err(|e| checker.fail("maxmemory", e))?,
        None => defaults.bytes,
    };
    let policy = match &file.maxmemory_policy {
        Some(name) => Policy::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Policy::names().collect();
            let problem = format!("must be one of {}, got \"{name}\"", names.join(", "));
            checker.fail("maxmemoryPolicy", problem)
        })?,
        None => defaults.policy,
    };
    let samples = file.maxmemory_samples.unwrap_or(defaults.samples);
    if !(SAMPLES_MIN..=SAMPLES_MAX).contains(&samples) {
        let problem = format!("must be from {SAMPLES_MIN} to {SAMPLES_MAX}, got {samples}");
        return Err(checker.fail("maxmemorySamples", problem));
    }
    Ok(MaxMemory {
        bytes,
        policy,
        samples,
    })
}

fn cluster_port_of(file: &FileConfig) -> Option<u16> {
    match file.cluster_port {
        Some(port) => Some(port),
        None => file.port.checked_add(CLUSTER_PORT_OFFSET),
    }
}

/// Addresses compare with the host case-insensitively, as DNS does.
fn same_addr(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `localhost` binds to IPv4 loopback so that `bind` never surprises with `::1`.
fn bind_host_of(file: &FileConfig) -> String {
    match &file.bind {
        Some(bind) => bind.clone(),
        None if file.host.eq_ignore_ascii_case("localhost") => "127.0.0.1".to_string(),
        None => file.host.clone(),
    }
}

fn build(
    checker: &Checker<'_>,
    file: FileConfig,
    (members, self_id): (Vec<Member>, NodeId),
) -> Result<ServerConfig, ConfigFileError> {
    let defaults = Limits::default();
    let limits = Limits {
        bulk_len_max: file.proto_max_bulk_len.unwrap_or(defaults.bulk_len_max),
        query_buffer_bytes_max: file
            .client_query_buffer_limit_bytes
            .unwrap_or(defaults.query_buffer_bytes_max),
        ..defaults
    };
    check_request_limits(&limits, checker)?;
    // Built from the core's defaults and then filled in, so that fields the daemon never
    // sets (the simulator's planted-bug switch) keep their defaults.
    let mut core = Config::single(&members[0].client_addr, &members[0].cluster_addr);
    core.members = members;
    core.self_id = self_id;
    core.heartbeat_ms = file.heartbeat_ms;
    core.election_timeout_ms_min = file.election_timeout_ms_min;
    core.election_timeout_ms_max = file.election_timeout_ms_max;
    core.write_quorum = match file.write_quorum {
        FileWriteQuorum::Async => WriteQuorum::Async,
        FileWriteQuorum::Majority => WriteQuorum::Majority,
    };
    core.requirepass = file.requirepass.clone().map(String::into_bytes);
    core.protected_mode = file.protected_mode;
    core.cluster_allow_reads_when_down = file.cluster_allow_reads_when_down;
    core.limits = limits;
    core.aof_rewrite = AofRewrite {
        percentage: file.auto_aof_rewrite_percentage,
        min_size_bytes: match &file.auto_aof_rewrite_min_size {
            Some(value) => {
                parse_size(value).map_err(|e| checker.fail("autoAofRewriteMinSize", e))?
            }
            None => AofRewrite::default().min_size_bytes,
        },
    };
    core.maxmemory = memory_limit(&file, checker)?;
    // The checks above mirror `Config::validate`; this is the backstop for any it adds.
    core.validate()
        .map_err(|e| checker.fail("clusterNodes", e))?;
    let bind = bind_host_of(&file);
    let cluster_port = cluster_port_of(&file).expect("checked in check_ports");
    let log_level = file.log_level.as_deref().and_then(log::parse_level);
    core.daemon = bucket_core::settings::DaemonSettings {
        timeout_s: file.timeout,
        maxclients: file.maxclients as u64,
        loglevel: log_level.unwrap_or(LogLevel::Info),
        appendfsync: file.appendfsync.into(),
    };
    Ok(ServerConfig {
        core,
        client_listen_addr: format!("{bind}:{}", file.port),
        cluster_listen_addr: format!("{bind}:{cluster_port}"),
        data_path: PathBuf::from(file.data_path),
        appendfsync: file.appendfsync.into(),
        cluster_secret: file.cluster_secret,
        maxclients: file.maxclients,
        client_output_buffer_limit_bytes: file.client_output_buffer_limit_bytes,
        replica_output_buffer_limit_bytes: file.replica_output_buffer_limit_bytes,
        client_idle_timeout_s: file.timeout,
        log_level: log_level.unwrap_or(LogLevel::Info),
    })
}

#[cfg(test)]
mod tests;
