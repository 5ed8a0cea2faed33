//! Redis glob patterns, for KEYS and SCAN's MATCH.

/// Redis glob matching, as `stringmatchlen` (case-sensitive): `*`, `?`, `[abc]`, `[^a]`,
/// `[a-z]` (reversed ranges allowed), `\x` escapes, and an unterminated `[` set running
/// to the end of the pattern. Iterative: on a mismatch it backtracks to the last `*`
/// only, which is enough for globs. Never panics, and takes O(pattern * string) steps.
///
/// As in Redis, an empty string matches only the empty pattern.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    if s.is_empty() {
        return pattern.is_empty();
    }
    let mut p = 0usize;
    let mut i = 0usize;
    // After the last `*` seen: where its remainder starts, and where in `s` it was tried.
    let mut star: Option<(usize, usize)> = None;
    loop {
        debug_assert!(p <= pattern.len());
        debug_assert!(i <= s.len());
        if i == s.len() {
            // String consumed: only trailing stars may remain.
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
        } else if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, i));
            continue;
        } else if p < pattern.len() {
            if let Some(p_next) = glob_match_one(pattern, p, s[i]) {
                p = p_next;
                i += 1;
                continue;
            }
        }
        // Mismatch: let the last star swallow one more byte, if any remain.
        let Some((star_p, star_i)) = star else {
            return false;
        };
        if star_i + 1 >= s.len() {
            return false;
        }
        star = Some((star_p, star_i + 1));
        p = star_p;
        i = star_i + 1;
    }
}

/// Match the single pattern element at `pattern[p]` (not `*`) against byte `c`. Returns
/// where the next element starts, or `None` on a mismatch.
fn glob_match_one(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    assert!(p < pattern.len());
    debug_assert_ne!(pattern[p], b'*');
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => glob_match_set(pattern, p + 1, c),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == c).then_some(p + 2),
        literal => (literal == c).then_some(p + 1),
    }
}

/// Match a `[...]` set whose body starts at `pattern[p]` against byte `c`, as Redis does:
/// `^` negates, `\x` is literal, `a-z` is a range, and a set without `]` ends with the
/// pattern.
fn glob_match_set(pattern: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negate = p < pattern.len() && pattern[p] == b'^';
    if negate {
        p += 1;
    }
    let mut matched = false;
    let p_next = loop {
        let remaining = pattern.len() - p;
        if remaining == 0 {
            break p;
        }
        if pattern[p] == b'\\' && remaining >= 2 {
            matched |= pattern[p + 1] == c;
            p += 2;
        } else if pattern[p] == b']' {
            break p + 1;
        } else if remaining >= 3 && pattern[p + 1] == b'-' {
            let (start, end) = (pattern[p], pattern[p + 2]);
            let (low, high) = if start <= end {
                (start, end)
            } else {
                (end, start)
            };
            matched |= low <= c && c <= high;
            p += 3;
        } else {
            matched |= pattern[p] == c;
            p += 1;
        }
    };
    assert!(p_next <= pattern.len());
    (matched != negate).then_some(p_next)
}
