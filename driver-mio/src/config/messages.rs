//! serde_yaml's messages, said as a person would: `port: expected a number from 0 to
//! 65535, got "seven thousand"` rather than `invalid type: string "seven thousand",
//! expected u16`, and an unknown key with the known key it most likely meant.

/// The message for one serde_yaml error text (its location already taken off).
pub fn humanize(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return unknown_key(rest);
    }
    let (key, detail) = match message.split_once(": ") {
        Some((key, detail)) if !key.contains(' ') => (Some(key), detail),
        _ => (None, message),
    };
    let Some(plain) = plain_mismatch(detail) else {
        return message.to_string();
    };
    match key {
        Some(key) => format!("{key}: {plain}"),
        None => plain,
    }
}

/// `invalid type: string "x", expected u16` and `invalid value: integer `70000`,
/// expected u16` as "expected ..., got ...".
fn plain_mismatch(detail: &str) -> Option<String> {
    let rest = detail
        .strip_prefix("invalid type: ")
        .or_else(|| detail.strip_prefix("invalid value: "))?;
    let (got, expected) = rest.rsplit_once(", expected ")?;
    let got = got
        .strip_prefix("string ")
        .or_else(|| got.strip_prefix("integer "))
        .or_else(|| got.strip_prefix("floating point "))
        .unwrap_or(got)
        .trim_matches('`');
    Some(format!(
        "expected {}, got {got}",
        expected_in_words(expected)
    ))
}

fn expected_in_words(rust_type: &str) -> String {
    let words = match rust_type {
        "u16" => "a number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number, 0 or more",
        "a boolean" => "true or false",
        "a string" => "text",
        other => return other.to_string(),
    };
    words.to_string()
}

/// `name`, expected one of `a`, `b`, ...: say which known key is nearest.
fn unknown_key(rest: &str) -> String {
    let Some((name, known)) = rest.split_once("`, expected one of ") else {
        return format!("unknown key `{rest}");
    };
    let nearest = known
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .min_by_key(|k| edit_distance(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()));
    match nearest {
        Some(k) if edit_distance(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()) <= 3 => {
            format!("unknown key `{name}`; did you mean `{k}`?")
        }
        _ => format!("unknown key `{name}`; the keys are {known}"),
    }
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_read_as_a_person_would_write_them() {
        assert_eq!(
            humanize("port: invalid type: string \"seven thousand\", expected u16"),
            "port: expected a number from 0 to 65535, got \"seven thousand\""
        );
        assert_eq!(
            humanize("port: invalid value: integer `70000`, expected u16"),
            "port: expected a number from 0 to 65535, got 70000"
        );
        assert_eq!(
            humanize("protectedMode: invalid type: string \"maybe\", expected a boolean"),
            "protectedMode: expected true or false, got \"maybe\""
        );
        assert_eq!(humanize("something else"), "something else");
    }

    #[test]
    fn an_unknown_key_names_the_nearest_known_one() {
        let known = "`host`, `port`, `maxmemoryPolicy`";
        assert_eq!(
            humanize(&format!(
                "unknown field `maxmemoryPolcy`, expected one of {known}"
            )),
            "unknown key `maxmemoryPolcy`; did you mean `maxmemoryPolicy`?"
        );
        assert_eq!(
            humanize(&format!("unknown field `colour`, expected one of {known}")),
            format!("unknown key `colour`; the keys are {known}")
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
