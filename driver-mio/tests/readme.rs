//! The README's "Start it" recipes, held to what real `bucket-server` processes do: the
//! log line it quotes for a single node, and the shell recipe that finds the master and
//! a replica of a three-node cluster before it sends a write to the replica.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{self, Cluster, POLL_INTERVAL};
use common::TestServer;

const README: &str = include_str!("../../README.md");
/// `CLUSTER KEYSLOT foo`.
const SLOT_OF_FOO: u16 = 12182;
const LOG_WAIT_MAX: Duration = Duration::from_secs(10);

/// The text between the first backticks after `marker` in the README.
fn quoted_after(marker: &str) -> &'static str {
    let at = README
        .find(marker)
        .unwrap_or_else(|| panic!("the README says {marker:?}"));
    let rest = &README[at + marker.len()..];
    let start = rest.find('`').expect("a quoted phrase") + 1;
    let len = rest[start..].find('`').expect("a closing backtick");
    &rest[start..start + len]
}

/// The shell block of the README that holds `needle`.
fn shell_block_with(needle: &str) -> &'static str {
    README
        .split("```sh\n")
        .skip(1)
        .map(|block| &block[..block.find("```").expect("a closed block")])
        .find(|block| block.contains(needle))
        .unwrap_or_else(|| panic!("a README shell block holds {needle:?}"))
}

#[test]
fn single_node_logs_the_line_the_readme_quotes() {
    let quoted = quoted_after("its log says ");
    let server = TestServer::start_single("readme-single", "");
    let deadline = Instant::now() + LOG_WAIT_MAX;
    while !server.log().contains(quoted) && Instant::now() < deadline {
        std::thread::sleep(POLL_INTERVAL);
    }
    assert!(
        server.log().contains(quoted),
        "want {quoted:?}:\n{}",
        server.log()
    );
}

/// The recipe picks the master and a replica by the first word of `ROLE`: those words
/// are what the nodes say, exactly one node says the master's, and the write sent to the
/// replica it picks is redirected to the master it picks.
#[test]
fn redirect_recipe_finds_the_master_whichever_node_wins() {
    let recipe = shell_block_with("$replica SET");
    assert!(
        recipe.contains("= master ]") && recipe.contains("= slave ]"),
        "the recipe picks nodes by ROLE:\n{recipe}"
    );
    assert!(
        recipe.contains("redis-cli -c -p $replica SET"),
        "the recipe writes at the replica it found, not at a fixed port:\n{recipe}"
    );
    let cluster = Cluster::start("readme-cluster", "");
    let master = cluster.wait_master();
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
    let first_words: Vec<String> = ports.iter().map(|&p| role_first_word(p)).collect();
    let masters: Vec<u16> = (0..ports.len())
        .filter(|&i| first_words[i] == "master")
        .map(|i| ports[i])
        .collect();
    assert_eq!(masters, [ports[master]], "ROLE words {first_words:?}");
    let replica = (0..ports.len())
        .find(|&i| first_words[i] == "slave")
        .map(|i| ports[i])
        .expect("a replica says slave");

    let request = common::resp_command(&["SET", "foo", "bar"]);
    let want = format!("-MOVED {SLOT_OF_FOO} 127.0.0.1:{}\r\n", ports[master]);
    let got = common::raw_exchange(replica, &request, want.len());
    assert_eq!(String::from_utf8_lossy(&got), want);
}

fn role_first_word(port: u16) -> String {
    match cluster::role(port) {
        Some(cluster::RoleReply::Master) => "master".to_string(),
        Some(cluster::RoleReply::Slave { .. }) => "slave".to_string(),
        None => "none".to_string(),
    }
}
