//! Replays the committed corpus of the `config` fuzz target (`fuzz/corpus/config/`):
//! every input must load or fail with a message, never panic.

use std::path::Path;

#[test]
fn config_corpus_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the config corpus exists")
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "the config corpus is empty");
    let mut loaded = 0;
    for path in &paths {
        let data = std::fs::read(path).expect("readable corpus file");
        if let Ok(text) = std::str::from_utf8(&data) {
            match driver_mio::config::parse(text) {
                Ok(_) => loaded += 1,
                Err(e) => assert!(
                    !e.to_string().is_empty(),
                    "{}: an empty error",
                    path.display()
                ),
            }
        }
    }
    assert!(loaded > 0, "the shipped configs in the corpus load");
}
