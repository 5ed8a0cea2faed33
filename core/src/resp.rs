//! RESP2/RESP3 codec: request parsing (client to server), reply encoding (server to
//! client) and a reply decoder for tests and simulated clients.
//!
//! Request parsing is stateless and incremental: [`parse_request`] looks at the unparsed
//! bytes of a connection and either parses one whole request, asks for more bytes (with a
//! lower bound on how many, so a large bulk arriving in small reads is not re-parsed on
//! every read), or reports bad input with Redis's exact wording. The result depends only
//! on the byte stream, never on how it was split into reads: a prefix of a stream parses
//! as `Incomplete`, or as the same request or the same error as the whole stream.
//!
//! Nothing here allocates in proportion to a length a client claims: arguments are copied
//! only once all their bytes have arrived.

use core::fmt;

/// Redis `PROTO_INLINE_MAX_SIZE`: the longest inline request, and the longest `*` or `$`
/// header line.
pub const INLINE_LEN_MAX_REDIS: usize = 64 * 1024;
/// Redis `proto-max-bulk-len` default.
pub const BULK_LEN_MAX_REDIS: usize = 512 * 1024 * 1024;
/// Most arguments in one multibulk request that Redis accepts.
pub const MULTIBULK_LEN_MAX_REDIS: usize = 1024 * 1024;
/// Deepest nesting of aggregate replies that [`parse_reply`] accepts.
pub const REPLY_DEPTH_MAX: usize = 64;
/// Longest decimal form of an `i64` (`-9223372036854775808`), which bounds every
/// length and integer line.
const DECIMAL_LEN_MAX: usize = 20;

const _: () = assert!(DECIMAL_LEN_MAX < INLINE_LEN_MAX_REDIS);
const _: () = assert!(MULTIBULK_LEN_MAX_REDIS <= i32::MAX as usize);

/// Bounds on what a client may send in one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest single argument of a multibulk request.
    pub bulk_len_max: usize,
    /// Most arguments in one multibulk request.
    pub multibulk_len_max: usize,
    /// Longest inline request line, and longest `*`/`$` header line.
    pub inline_len_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            bulk_len_max: BULK_LEN_MAX_REDIS,
            multibulk_len_max: MULTIBULK_LEN_MAX_REDIS,
            inline_len_max: INLINE_LEN_MAX_REDIS,
        }
    }
}

impl From<&crate::config::Limits> for Limits {
    fn from(limits: &crate::config::Limits) -> Limits {
        Limits {
            bulk_len_max: limits.bulk_len_max,
            multibulk_len_max: limits.multibulk_len_max,
            inline_len_max: limits.inline_len_max,
        }
    }
}

/// A parsed request: all arguments in one buffer, so parsing allocates nothing per
/// argument once warmed up.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Every argument's bytes, back to back.
    buf: Vec<u8>,
    /// `ends[i]` is the offset in `buf` just past argument `i`.
    ends: Vec<usize>,
}

impl Request {
    pub fn new() -> Request {
        Request::default()
    }

    /// Number of arguments.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Argument `i`. Panics if `i >= self.len()`: the caller checks the arity first.
    pub fn arg(&self, i: usize) -> &[u8] {
        assert!(i < self.ends.len(), "argument {i} of {}", self.ends.len());
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    pub fn args(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(move |i| self.arg(i))
    }

    /// Empties the request but keeps its capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    pub fn push(&mut self, arg: &[u8]) {
        self.buf.extend_from_slice(arg);
        self.end_arg();
    }

    /// Appends the request as a RESP2 multibulk.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len_before = out.len();
        write_header(out, b'*', usize_to_i64(self.len()));
        for arg in self.args() {
            write_bulk(out, arg);
        }
        assert!(out.len() >= len_before + 4);
    }

    /// Appends one byte to the argument being built by the inline splitter.
    fn push_byte(&mut self, byte: u8) {
        self.buf.push(byte);
    }

    /// Closes the argument being built: its bytes are everything since the last end.
    fn end_arg(&mut self) {
        let start = self.ends.last().copied().unwrap_or(0);
        assert!(start <= self.buf.len());
        self.ends.push(self.buf.len());
    }
}

/// The outcome of one successful call to [`parse_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// One request parsed into `out`; `consumed` bytes of input were used. An empty inline
    /// line parses as a request with zero arguments (the caller skips it, as Redis does).
    Request { consumed: usize },
    /// Not enough bytes yet. `needed_total` is a lower bound on the input length at which
    /// parsing could make progress, so the caller can avoid re-parsing a big partial bulk
    /// on every small read (which would be quadratic).
    Incomplete { needed_total: usize },
}

/// Bad input. `Display` gives Redis's wording; the server replies `-ERR <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A `*` count that is not an integer, or above `multibulk_len_max`.
    MultibulkLenInvalid,
    /// A `$` length that is not an integer, negative, or above `bulk_len_max`.
    BulkLenInvalid,
    /// A multibulk element that does not start with `$`.
    DollarExpected { got: u8 },
    /// An inline line longer than `inline_len_max`.
    InlineTooBig,
    /// An inline line whose quotes do not close, or close mid-word.
    QuotesUnbalanced,
    /// A `*` header line longer than `inline_len_max`.
    MultibulkCountTooBig,
    /// A `$` header line longer than `inline_len_max`.
    BulkCountTooBig,
    /// A bulk whose bytes are not followed by `\r\n`. Redis skips two bytes blindly.
    BulkCrlfMissing,
    /// A reply starting with a byte that is no RESP2/RESP3 type.
    ReplyTypeUnknown { got: u8 },
    /// A reply length, integer, double, boolean or big number that does not parse.
    ReplyValueInvalid,
    /// A simple string, error or verbatim string that is not UTF-8.
    ReplyNotUtf8,
    /// Aggregates nested deeper than [`REPLY_DEPTH_MAX`].
    ReplyTooDeep,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ParseError::MultibulkLenInvalid => f.write_str("invalid multibulk length"),
            ParseError::BulkLenInvalid => f.write_str("invalid bulk length"),
            ParseError::DollarExpected { got } => {
                write!(f, "expected '$', got '{}'", char::from(*got))
            }
            ParseError::InlineTooBig => f.write_str("too big inline request"),
            ParseError::QuotesUnbalanced => f.write_str("unbalanced quotes in request"),
            ParseError::MultibulkCountTooBig => f.write_str("too big mbulk count string"),
            ParseError::BulkCountTooBig => f.write_str("too big bulk count string"),
            ParseError::BulkCrlfMissing => f.write_str("bulk string not followed by CRLF"),
            ParseError::ReplyTypeUnknown { got } => {
                write!(f, "unknown reply type '{}'", char::from(*got))
            }
            ParseError::ReplyValueInvalid => f.write_str("invalid value in reply"),
            ParseError::ReplyNotUtf8 => f.write_str("reply string is not UTF-8"),
            ParseError::ReplyTooDeep => f.write_str("reply nested too deep"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Request parsing.

/// Parses the first request in `input` into `out` (cleared first). On `Incomplete` or an
/// error, `out` is left empty.
pub fn parse_request(
    input: &[u8],
    limits: &Limits,
    out: &mut Request,
) -> Result<Parsed, ParseError> {
    assert!(limits.inline_len_max > 0);
    out.clear();
    let result = match input.first() {
        None => Ok(Parsed::Incomplete { needed_total: 1 }),
        Some(b'*') => parse_multibulk(input, limits, out),
        Some(_) => parse_inline(input, limits, out),
    };
    match result {
        Ok(Parsed::Request { consumed }) => {
            assert!(consumed > 0);
            assert!(consumed <= input.len());
        }
        Ok(Parsed::Incomplete { needed_total }) => {
            assert!(needed_total > input.len());
            out.clear();
        }
        Err(_) => out.clear(),
    }
    result
}

/// Where a header line (`*3`, `$5`) or inline line stands in the input.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The line's content ends at `end` (exclusive), before its terminator.
    Complete { end: usize },
    /// No terminator yet, and the content so far is within the bound.
    Incomplete,
    /// The content is longer than the bound, whether or not its terminator has arrived.
    TooLong,
}

/// Finds the `\r\n` that ends the line starting at `start`. Scans at most
/// `content_len_max + 2` bytes, so a missing terminator costs bounded work.
fn find_header_line(input: &[u8], start: usize, content_len_max: usize) -> Line {
    assert!(start <= input.len());
    let window_end = input
        .len()
        .min(start.saturating_add(content_len_max.saturating_add(2)));
    let window = &input[start..window_end];
    if let Some(i) = window.windows(2).position(|pair| pair == b"\r\n") {
        assert!(i <= content_len_max);
        return Line::Complete { end: start + i };
    }
    // A trailing '\r' may be the start of the terminator, so it may not count as content.
    let available = input.len() - start;
    let content_len_min = available - usize::from(input.ends_with(b"\r"));
    if content_len_min > content_len_max {
        Line::TooLong
    } else {
        Line::Incomplete
    }
}

/// Finds the `\n` that ends an inline line. Like Redis, the line's length counts a `\r`
/// before the `\n`; unlike Redis, an over-long line is refused even when its `\n` arrived
/// in the same read, so the result does not depend on how the stream was split.
fn find_inline_line(input: &[u8], line_len_max: usize) -> Line {
    let window_end = input.len().min(line_len_max.saturating_add(1));
    if let Some(i) = input[..window_end].iter().position(|&b| b == b'\n') {
        assert!(i <= line_len_max);
        return Line::Complete { end: i };
    }
    if input.len() > line_len_max {
        Line::TooLong
    } else {
        Line::Incomplete
    }
}

fn parse_multibulk(input: &[u8], limits: &Limits, out: &mut Request) -> Result<Parsed, ParseError> {
    assert_eq!(input[0], b'*');
    let end = match find_header_line(input, 1, limits.inline_len_max) {
        Line::Complete { end } => end,
        Line::Incomplete => return Ok(incomplete(input)),
        Line::TooLong => return Err(ParseError::MultibulkCountTooBig),
    };
    let count = parse_decimal(&input[1..end]).ok_or(ParseError::MultibulkLenInvalid)?;
    let mut pos = end + 2;
    if count <= 0 {
        // Redis treats `*0` and `*-1` as a request with nothing in it.
        return Ok(Parsed::Request { consumed: pos });
    }
    if count > usize_to_i64(limits.multibulk_len_max) {
        return Err(ParseError::MultibulkLenInvalid);
    }
    for _ in 0..count {
        match parse_bulk(input, pos, limits)? {
            Bulk::Complete { start, end } => {
                out.push(&input[start..end]);
                pos = end + 2;
            }
            Bulk::Incomplete { needed_total } => return Ok(Parsed::Incomplete { needed_total }),
        }
    }
    assert_eq!(i64::try_from(out.len()).ok(), Some(count));
    Ok(Parsed::Request { consumed: pos })
}

/// One multibulk element.
enum Bulk {
    /// The element's bytes are `input[start..end]`, and `\r\n` follows them.
    Complete {
        start: usize,
        end: usize,
    },
    Incomplete {
        needed_total: usize,
    },
}

fn parse_bulk(input: &[u8], pos: usize, limits: &Limits) -> Result<Bulk, ParseError> {
    let Some(&first) = input.get(pos) else {
        return Ok(Bulk::Incomplete {
            needed_total: pos + 1,
        });
    };
    // Checked before the line is complete: the first byte is the same however the stream
    // is split, so the error is too.
    if first != b'$' {
        return Err(ParseError::DollarExpected { got: first });
    }
    let line_end = match find_header_line(input, pos + 1, limits.inline_len_max) {
        Line::Complete { end } => end,
        Line::Incomplete => {
            return Ok(Bulk::Incomplete {
                needed_total: input.len() + 1,
            })
        }
        Line::TooLong => return Err(ParseError::BulkCountTooBig),
    };
    let len = parse_decimal(&input[pos + 1..line_end]).ok_or(ParseError::BulkLenInvalid)?;
    let len = usize::try_from(len).map_err(|_| ParseError::BulkLenInvalid)?;
    if len > limits.bulk_len_max {
        return Err(ParseError::BulkLenInvalid);
    }
    let start = line_end + 2;
    let end = start.saturating_add(len);
    let needed_total = end.saturating_add(2);
    if input.len() < needed_total {
        return Ok(Bulk::Incomplete { needed_total });
    }
    if &input[end..end + 2] != b"\r\n" {
        return Err(ParseError::BulkCrlfMissing);
    }
    Ok(Bulk::Complete { start, end })
}

fn parse_inline(input: &[u8], limits: &Limits, out: &mut Request) -> Result<Parsed, ParseError> {
    assert_ne!(input[0], b'*');
    let newline = match find_inline_line(input, limits.inline_len_max) {
        Line::Complete { end } => end,
        Line::Incomplete => return Ok(incomplete(input)),
        Line::TooLong => return Err(ParseError::InlineTooBig),
    };
    let mut line = &input[..newline];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    // Redis splits the line as a C string, so a NUL byte ends it.
    if let Some(nul) = line.iter().position(|&b| b == 0) {
        line = &line[..nul];
    }
    split_args(line, out)?;
    Ok(Parsed::Request {
        consumed: newline + 1,
    })
}

fn incomplete(input: &[u8]) -> Parsed {
    Parsed::Incomplete {
        needed_total: input.len() + 1,
    }
}

/// Splits an inline line into arguments with the rules of Redis's `sdssplitargs`.
/// `line` holds no NUL byte, so "past the end" plays the role of C's terminating NUL.
fn split_args(line: &[u8], out: &mut Request) -> Result<(), ParseError> {
    assert!(!line.contains(&0));
    let mut pos = 0;
    loop {
        while pos < line.len() && is_c_space(line[pos]) {
            pos += 1;
        }
        if pos == line.len() {
            return Ok(());
        }
        let next = split_word(line, pos, out)?;
        assert!(next > pos, "every word consumes at least one byte");
        pos = next;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// One step of the word scanner: `pos` is the last byte the step consumed.
struct WordStep {
    pos: usize,
    done: bool,
    quote: Quote,
}

/// Reads one word starting at `start` into `out`; returns the index after it.
fn split_word(line: &[u8], start: usize, out: &mut Request) -> Result<usize, ParseError> {
    assert!(start < line.len());
    let mut pos = start;
    let mut quote = Quote::None;
    loop {
        let step = match quote {
            Quote::None => unquoted_step(line, pos, out),
            Quote::Double => double_quoted_step(line, pos, out)?,
            Quote::Single => single_quoted_step(line, pos, out)?,
        };
        pos = step.pos;
        quote = step.quote;
        if pos < line.len() {
            pos += 1;
        }
        if step.done {
            break;
        }
    }
    out.end_arg();
    Ok(pos)
}

fn unquoted_step(line: &[u8], pos: usize, out: &mut Request) -> WordStep {
    let (done, quote) = match byte_at(line, pos) {
        b' ' | b'\n' | b'\r' | b'\t' | 0 => (true, Quote::None),
        b'"' => (false, Quote::Double),
        b'\'' => (false, Quote::Single),
        byte => {
            out.push_byte(byte);
            (false, Quote::None)
        }
    };
    WordStep { pos, done, quote }
}

fn double_quoted_step(line: &[u8], pos: usize, out: &mut Request) -> Result<WordStep, ParseError> {
    let byte = byte_at(line, pos);
    let next = byte_at(line, pos + 1);
    let mut step = WordStep {
        pos,
        done: false,
        quote: Quote::Double,
    };
    if byte == b'\\' && next == b'x' {
        if let (Some(high), Some(low)) = (
            hex_value(byte_at(line, pos + 2)),
            hex_value(byte_at(line, pos + 3)),
        ) {
            out.push_byte(high * 16 + low);
            step.pos = pos + 3;
            return Ok(step);
        }
    }
    if byte == b'\\' && next != 0 {
        out.push_byte(unescape(next));
        step.pos = pos + 1;
    } else if byte == b'"' {
        // A closing quote must be followed by a space or the end of the line.
        if next != 0 && !is_c_space(next) {
            return Err(ParseError::QuotesUnbalanced);
        }
        step.done = true;
    } else if byte == 0 {
        return Err(ParseError::QuotesUnbalanced);
    } else {
        out.push_byte(byte);
    }
    Ok(step)
}

fn single_quoted_step(line: &[u8], pos: usize, out: &mut Request) -> Result<WordStep, ParseError> {
    let byte = byte_at(line, pos);
    let next = byte_at(line, pos + 1);
    let mut step = WordStep {
        pos,
        done: false,
        quote: Quote::Single,
    };
    if byte == b'\\' && next == b'\'' {
        out.push_byte(b'\'');
        step.pos = pos + 1;
    } else if byte == b'\'' {
        if next != 0 && !is_c_space(next) {
            return Err(ParseError::QuotesUnbalanced);
        }
        step.done = true;
    } else if byte == 0 {
        return Err(ParseError::QuotesUnbalanced);
    } else {
        out.push_byte(byte);
    }
    Ok(step)
}

/// The byte at `pos`, or 0 (C's terminator) past the end.
fn byte_at(line: &[u8], pos: usize) -> u8 {
    line.get(pos).copied().unwrap_or(0)
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .map(|d| u8::try_from(d).expect("a hex digit is below 16"))
}

fn unescape(byte: u8) -> u8 {
    match byte {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

/// Parses a decimal `i64` as Redis's `string2ll` does: no sign but `-`, no leading zeros,
/// no spaces, no overflow.
fn parse_decimal(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > DECIMAL_LEN_MAX {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(value)
    } else {
        i64::try_from(value).ok()
    }
}

fn usize_to_i64(n: usize) -> i64 {
    i64::try_from(n).expect("lengths in memory fit in i64")
}

// ---------------------------------------------------------------------------------------
// Reply encoding.

/// Which protocol a connection speaks (`HELLO 3` switches to RESP3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// `+s\r\n`. A `\r` or `\n` inside `s` becomes a space, so the reply stays one line.
pub fn write_simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    write_line_sanitized(out, s);
}

/// `-msg\r\n`, where `msg` starts with the error code (`"ERR ..."`, `"WRONGTYPE ..."`).
/// A `\r` or `\n` inside `msg` becomes a space, as in Redis's `addReplyErrorLength`.
pub fn write_error(out: &mut Vec<u8>, msg: &str) {
    assert!(!msg.is_empty(), "an error reply names its code");
    assert!(!msg.starts_with('-'), "the '-' is added here");
    out.push(b'-');
    write_line_sanitized(out, msg);
}

fn write_line_sanitized(out: &mut Vec<u8>, s: &str) {
    let start = out.len();
    out.extend(
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    assert!(!out[start..].contains(&b'\n'));
    out.extend_from_slice(b"\r\n");
}

/// `:n\r\n`.
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    write_header(out, b':', n);
}

/// `$len\r\nbytes\r\n`.
pub fn write_bulk(out: &mut Vec<u8>, b: &[u8]) {
    write_header(out, b'$', usize_to_i64(b.len()));
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// RESP2 `$-1\r\n`; RESP3 `_\r\n`.
pub fn write_null(out: &mut Vec<u8>, p: Protocol) {
    match p {
        Protocol::Resp2 => out.extend_from_slice(b"$-1\r\n"),
        Protocol::Resp3 => out.extend_from_slice(b"_\r\n"),
    }
}

/// RESP2 `*-1\r\n`; RESP3 `_\r\n`.
pub fn write_null_array(out: &mut Vec<u8>, p: Protocol) {
    match p {
        Protocol::Resp2 => out.extend_from_slice(b"*-1\r\n"),
        Protocol::Resp3 => out.extend_from_slice(b"_\r\n"),
    }
}

/// `*n\r\n`; the `n` elements follow.
pub fn write_array_len(out: &mut Vec<u8>, n: usize) {
    write_header(out, b'*', usize_to_i64(n));
}

/// RESP2 `*2n\r\n` (keys and values alternate); RESP3 `%n\r\n`.
pub fn write_map_len(out: &mut Vec<u8>, n: usize, p: Protocol) {
    match p {
        Protocol::Resp2 => write_header(
            out,
            b'*',
            usize_to_i64(n.checked_mul(2).expect("map fits in memory")),
        ),
        Protocol::Resp3 => write_header(out, b'%', usize_to_i64(n)),
    }
}

/// RESP2 `*n\r\n`; RESP3 `~n\r\n`.
pub fn write_set_len(out: &mut Vec<u8>, n: usize, p: Protocol) {
    match p {
        Protocol::Resp2 => write_header(out, b'*', usize_to_i64(n)),
        Protocol::Resp3 => write_header(out, b'~', usize_to_i64(n)),
    }
}

/// RESP2 a bulk string; RESP3 `,d\r\n`. Both use the shortest text that reads back as
/// `d`, with `inf`, `-inf` and `nan` as Redis writes them.
pub fn write_double(out: &mut Vec<u8>, d: f64, p: Protocol) {
    let text = format_double(d);
    match p {
        Protocol::Resp2 => write_bulk(out, text.as_bytes()),
        Protocol::Resp3 => {
            out.push(b',');
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// RESP2 `:1`/`:0`; RESP3 `#t`/`#f`.
pub fn write_bool(out: &mut Vec<u8>, b: bool, p: Protocol) {
    match p {
        Protocol::Resp2 => write_int(out, i64::from(b)),
        Protocol::Resp3 => out.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
    }
}

/// RESP2 a bulk string; RESP3 `=len\r\ntxt:text\r\n`.
pub fn write_verbatim(out: &mut Vec<u8>, text: &str, p: Protocol) {
    match p {
        Protocol::Resp2 => write_bulk(out, text.as_bytes()),
        Protocol::Resp3 => {
            write_header(out, b'=', usize_to_i64(text.len() + 4));
            out.extend_from_slice(b"txt:");
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Writes any reply, nested ones without recursion. RESP3-only types fall back as Redis
/// sends them to RESP2 clients (maps and sets as arrays, big numbers as bulk strings).
pub fn write_reply(out: &mut Vec<u8>, reply: &Reply, p: Protocol) {
    let mut pending: Vec<&Reply> = vec![reply];
    while let Some(reply) = pending.pop() {
        let children_start = pending.len();
        write_reply_head(out, reply, p);
        match reply {
            Reply::Array(items) | Reply::Set(items) => pending.extend(items.iter()),
            Reply::Map(pairs) => pending.extend(pairs.iter().flat_map(|(k, v)| [k, v])),
            _ => {}
        }
        // The stack pops last first, so the children go on in reverse.
        pending[children_start..].reverse();
    }
}

/// Writes a scalar reply whole, or an aggregate's header.
fn write_reply_head(out: &mut Vec<u8>, reply: &Reply, p: Protocol) {
    match reply {
        Reply::Simple(s) => write_simple(out, s),
        Reply::Error(s) => write_error(out, s),
        Reply::Integer(n) => write_int(out, *n),
        Reply::Bulk(b) => write_bulk(out, b),
        Reply::Nil => write_null(out, p),
        Reply::NilArray => write_null_array(out, p),
        Reply::Array(items) => write_array_len(out, items.len()),
        Reply::Map(pairs) => write_map_len(out, pairs.len(), p),
        Reply::Set(items) => write_set_len(out, items.len(), p),
        Reply::Double(d) => write_double(out, *d, p),
        Reply::Boolean(b) => write_bool(out, *b, p),
        Reply::Verbatim(text) => write_verbatim(out, text, p),
        Reply::BigNumber(digits) => match p {
            Protocol::Resp2 => write_bulk(out, digits.as_bytes()),
            Protocol::Resp3 => {
                out.push(b'(');
                write_line_sanitized(out, digits);
            }
        },
    }
}

/// `<prefix><n>\r\n`, formatting `n` by hand: replies are mostly headers and integers.
fn write_header(out: &mut Vec<u8>, prefix: u8, n: i64) {
    let mut digits = [0u8; DECIMAL_LEN_MAX];
    let mut start = digits.len();
    let mut magnitude = n.unsigned_abs();
    loop {
        start -= 1;
        digits[start] = b'0' + u8::try_from(magnitude % 10).expect("a digit is below 10");
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if n < 0 {
        start -= 1;
        digits[start] = b'-';
    }
    out.push(prefix);
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(b"\r\n");
}

/// The shortest decimal text that reads back as `d`: fixed notation for exponents in
/// -4..17 (as C's `%.17g`), otherwise `1.5e+300` style.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let scientific = format!("{d:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} always has an 'e'");
    let exponent: i32 = exponent.parse().expect("{:e} writes an integer exponent");
    if d == 0.0 || (-4..17).contains(&exponent) {
        return format!("{d}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

// ---------------------------------------------------------------------------------------
// Reply decoding.

/// Any RESP2 or RESP3 reply. RESP3's `_` null decodes as `Nil`, a push (`>`) as `Array`,
/// and a blob error (`!`) as `Error`. A verbatim string keeps its text, not its format.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(f64),
    Boolean(bool),
    Verbatim(String),
    BigNumber(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AggregateKind {
    Array,
    Set,
    Map,
}

/// An aggregate whose elements are still being decoded.
struct Frame {
    kind: AggregateKind,
    items: Vec<Reply>,
    /// Elements still to come; a map counts keys and values apiece.
    remaining: u64,
}

impl Frame {
    fn finish(self) -> Reply {
        assert_eq!(self.remaining, 0);
        match self.kind {
            AggregateKind::Array => Reply::Array(self.items),
            AggregateKind::Set => Reply::Set(self.items),
            AggregateKind::Map => {
                assert_eq!(self.items.len() % 2, 0);
                let mut pairs = Vec::with_capacity(self.items.len() / 2);
                let mut items = self.items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    pairs.push((k, v));
                }
                Reply::Map(pairs)
            }
        }
    }
}

/// One decoded element: a whole scalar, or an aggregate's header.
enum Item {
    Scalar(Reply),
    Aggregate { kind: AggregateKind, elements: u64 },
}

/// Decodes the first reply in `input`: `Ok(None)` if it has not fully arrived, else the
/// reply and the bytes it used. Nesting is decoded with an explicit stack.
pub fn parse_reply(input: &[u8]) -> Result<Option<(Reply, usize)>, ParseError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = 0;
    loop {
        let Some((item, next)) = parse_reply_item(input, pos)? else {
            return Ok(None);
        };
        assert!(next > pos);
        pos = next;
        let mut reply = match item {
            Item::Scalar(reply) => reply,
            Item::Aggregate { kind, elements: 0 } => Frame {
                kind,
                items: Vec::new(),
                remaining: 0,
            }
            .finish(),
            Item::Aggregate { kind, elements } => {
                if stack.len() >= REPLY_DEPTH_MAX {
                    return Err(ParseError::ReplyTooDeep);
                }
                stack.push(Frame {
                    kind,
                    items: Vec::new(),
                    remaining: elements,
                });
                continue;
            }
        };
        // Hand the finished reply to its parent, closing every parent it completes.
        loop {
            let Some(parent) = stack.last_mut() else {
                return Ok(Some((reply, pos)));
            };
            parent.items.push(reply);
            parent.remaining -= 1;
            if parent.remaining > 0 {
                break;
            }
            reply = stack.pop().expect("the parent was just seen").finish();
        }
    }
}

/// Decodes the element at `pos`: `Ok(None)` if it has not fully arrived.
fn parse_reply_item(input: &[u8], pos: usize) -> Result<Option<(Item, usize)>, ParseError> {
    let Some(&kind) = input.get(pos) else {
        return Ok(None);
    };
    let Some(i) = input[pos + 1..].windows(2).position(|pair| pair == b"\r\n") else {
        return Ok(None);
    };
    let line = &input[pos + 1..pos + 1 + i];
    let next = pos + 1 + i + 2;
    let scalar = |reply| Ok(Some((Item::Scalar(reply), next)));
    match kind {
        b'+' => scalar(Reply::Simple(utf8(line)?)),
        b'-' => scalar(Reply::Error(utf8(line)?)),
        b':' => scalar(Reply::Integer(reply_decimal(line)?)),
        b',' => scalar(Reply::Double(reply_double(line)?)),
        b'#' => scalar(Reply::Boolean(reply_bool(line)?)),
        b'(' => scalar(Reply::BigNumber(reply_big_number(line)?)),
        b'_' if line.is_empty() => scalar(Reply::Nil),
        b'$' | b'!' | b'=' => parse_reply_blob(input, kind, line, next),
        b'*' | b'>' | b'~' | b'%' => parse_reply_aggregate(kind, line, next),
        b'_' => Err(ParseError::ReplyValueInvalid),
        got => Err(ParseError::ReplyTypeUnknown { got }),
    }
}

/// A length-prefixed string: bulk (`$`), blob error (`!`) or verbatim (`=`).
fn parse_reply_blob(
    input: &[u8],
    kind: u8,
    line: &[u8],
    start: usize,
) -> Result<Option<(Item, usize)>, ParseError> {
    let len = reply_decimal(line)?;
    if kind == b'$' && len == -1 {
        return Ok(Some((Item::Scalar(Reply::Nil), start)));
    }
    let len = usize::try_from(len).map_err(|_| ParseError::ReplyValueInvalid)?;
    let end = start
        .checked_add(len)
        .ok_or(ParseError::ReplyValueInvalid)?;
    if input.len() < end.saturating_add(2) {
        return Ok(None);
    }
    if &input[end..end + 2] != b"\r\n" {
        return Err(ParseError::ReplyValueInvalid);
    }
    let bytes = &input[start..end];
    let reply = match kind {
        b'$' => Reply::Bulk(bytes.to_vec()),
        b'!' => Reply::Error(utf8(bytes)?),
        _ => {
            // `=len\r\nfmt:text`: a three-byte format, a colon, then the text.
            if bytes.len() < 4 || bytes[3] != b':' {
                return Err(ParseError::ReplyValueInvalid);
            }
            Reply::Verbatim(utf8(&bytes[4..])?)
        }
    };
    Ok(Some((Item::Scalar(reply), end + 2)))
}

fn parse_reply_aggregate(
    kind: u8,
    line: &[u8],
    next: usize,
) -> Result<Option<(Item, usize)>, ParseError> {
    let len = reply_decimal(line)?;
    if kind == b'*' && len == -1 {
        return Ok(Some((Item::Scalar(Reply::NilArray), next)));
    }
    let len = u64::try_from(len).map_err(|_| ParseError::ReplyValueInvalid)?;
    let (kind, elements) = match kind {
        b'~' => (AggregateKind::Set, len),
        b'%' => (
            AggregateKind::Map,
            len.checked_mul(2).ok_or(ParseError::ReplyValueInvalid)?,
        ),
        _ => (AggregateKind::Array, len),
    };
    Ok(Some((Item::Aggregate { kind, elements }, next)))
}

fn utf8(bytes: &[u8]) -> Result<String, ParseError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ParseError::ReplyNotUtf8)
}

fn reply_decimal(line: &[u8]) -> Result<i64, ParseError> {
    parse_decimal(line).ok_or(ParseError::ReplyValueInvalid)
}

fn reply_double(line: &[u8]) -> Result<f64, ParseError> {
    let text = core::str::from_utf8(line).map_err(|_| ParseError::ReplyValueInvalid)?;
    text.parse().map_err(|_| ParseError::ReplyValueInvalid)
}

fn reply_bool(line: &[u8]) -> Result<bool, ParseError> {
    match line {
        b"t" => Ok(true),
        b"f" => Ok(false),
        _ => Err(ParseError::ReplyValueInvalid),
    }
}

fn reply_big_number(line: &[u8]) -> Result<String, ParseError> {
    let digits = line.strip_prefix(b"-").unwrap_or(line);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::ReplyValueInvalid);
    }
    utf8(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits_small() -> Limits {
        Limits {
            bulk_len_max: 16,
            multibulk_len_max: 4,
            inline_len_max: 32,
        }
    }

    /// Parses every request in `input`, as a connection would: until the input runs out,
    /// more bytes are needed, or an error. Returns the requests and the final outcome.
    fn parse_all(input: &[u8], limits: &Limits) -> (Vec<Vec<Vec<u8>>>, Result<usize, ParseError>) {
        let mut requests = Vec::new();
        let mut request = Request::new();
        let mut pos = 0;
        loop {
            match parse_request(&input[pos..], limits, &mut request) {
                Ok(Parsed::Request { consumed }) => {
                    requests.push(request.args().map(<[u8]>::to_vec).collect());
                    pos += consumed;
                }
                Ok(Parsed::Incomplete { .. }) => return (requests, Ok(pos)),
                Err(e) => return (requests, Err(e)),
            }
        }
    }

    /// Feeds `input` in chunks cut at `cuts`, keeping unconsumed bytes between reads and
    /// skipping re-parses until `needed_total` bytes are buffered.
    fn parse_split(
        input: &[u8],
        cuts: &[usize],
        limits: &Limits,
    ) -> (Vec<Vec<Vec<u8>>>, Result<usize, ParseError>) {
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        bounds.push(input.len());
        bounds.sort_unstable();
        let mut requests = Vec::new();
        let mut request = Request::new();
        let mut buffer: Vec<u8> = Vec::new();
        let mut consumed_total = 0;
        let mut needed_total = 0;
        let mut fed = 0;
        for bound in bounds {
            buffer.extend_from_slice(&input[fed..bound]);
            fed = bound;
            while buffer.len() >= needed_total {
                match parse_request(&buffer, limits, &mut request) {
                    Ok(Parsed::Request { consumed }) => {
                        requests.push(request.args().map(<[u8]>::to_vec).collect());
                        buffer.drain(..consumed);
                        consumed_total += consumed;
                        needed_total = 0;
                    }
                    Ok(Parsed::Incomplete { needed_total: n }) => {
                        needed_total = n;
                        break;
                    }
                    Err(e) => return (requests, Err(e)),
                }
            }
        }
        (requests, Ok(consumed_total))
    }

    fn args_of(request: &Request) -> Vec<Vec<u8>> {
        request.args().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn request_errors_have_redis_wording() {
        let limits = limits_small();
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (b"*5\r\n", "Protocol error: invalid multibulk length"),
            (b"*01\r\n", "Protocol error: invalid multibulk length"),
            (b"*+1\r\n", "Protocol error: invalid multibulk length"),
            (
                b"*99999999999999999999\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$17\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$ 1\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$\r\n", "Protocol error: invalid bulk length"),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
                "Protocol error: expected '$', got 'f'",
            ),
            (b"*1\r\nx", "Protocol error: expected '$', got 'x'"),
            (
                b"*1\r\n$1\r\nab\r\n",
                "Protocol error: bulk string not followed by CRLF",
            ),
            (&[b'a'; 33], "Protocol error: too big inline request"),
            (
                &[[b'a'; 33].as_slice(), b"\r\n"].concat(),
                "Protocol error: too big inline request",
            ),
            (
                b"set \"a b\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"set 'a\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"set \"a\"b\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"set 'a'b\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                &[b"*".as_slice(), &[b'1'; 33]].concat(),
                "Protocol error: too big mbulk count string",
            ),
            (
                &[b"*1\r\n$".as_slice(), &[b'1'; 33]].concat(),
                "Protocol error: too big bulk count string",
            ),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            let mut request = Request::new();
            let got = parse_request(input, &limits, &mut request);
            let got = got.map_err(|e| e.to_string());
            assert_eq!(
                got,
                Err(want.to_string()),
                "#{i}: input = {:?}",
                String::from_utf8_lossy(input)
            );
            assert!(request.is_empty(), "#{i}: request left filled");
        }
    }

    #[test]
    fn requests_parse_with_consumed_counts() {
        let limits = limits_small();
        /// Input, wanted arguments, wanted bytes consumed.
        type Case<'a> = (&'a [u8], &'a [&'a [u8]], usize);
        let cases: &[Case] = &[
            (b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &[b"GET", b"k"], 20),
            (b"*1\r\n$0\r\n\r\nextra", &[b""], 10),
            (b"*0\r\n", &[], 4),
            (b"*-1\r\n", &[], 5),
            (b"*-10\r\n", &[], 6),
            (b"*1\r\n$2\r\n\x00\xff\r\n", &[b"\x00\xff"], 12),
            (b"\r\n", &[], 2),
            (b"\n", &[], 1),
            (b"   \t \r\n", &[], 7),
            (b"PING\r\n", &[b"PING"], 6),
            (b"PING\n", &[b"PING"], 5),
            (b"set  a   b\r\nget a\r\n", &[b"set", b"a", b"b"], 12),
            (b"set \"a b\" c\r\n", &[b"set", b"a b", b"c"], 13),
            (
                b"set \"\\x41\\x4a\\n\\t\\\"\" x\r\n",
                &[b"set", b"AJ\n\t\"", b"x"],
                24,
            ),
            (b"set \"\\xzz\"\r\n", &[b"set", b"xzz"], 12),
            (b"set 'it\\'s' \"\"\r\n", &[b"set", b"it's", b""], 16),
            (b"set 'a\\nb'\r\n", &[b"set", b"a\\nb"], 12),
            (b"foo\"bar baz\"\r\n", &[b"foobar baz"], 14),
            (b"a\x0bb \x0cc\r\n", &[b"a\x0bb", b"c"], 8),
            (b"get a\x00b c\r\n", &[b"get", b"a"], 11),
            (b"\xff\xfe x\r\n", &[b"\xff\xfe", b"x"], 6),
        ];
        for (i, (input, want, consumed)) in cases.iter().enumerate() {
            let mut request = Request::new();
            let got = parse_request(input, &limits, &mut request);
            assert_eq!(
                got,
                Ok(Parsed::Request {
                    consumed: *consumed
                }),
                "#{i}: {:?}",
                String::from_utf8_lossy(input)
            );
            let want: Vec<Vec<u8>> = want.iter().map(|a| a.to_vec()).collect();
            assert_eq!(
                args_of(&request),
                want,
                "#{i}: {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn incomplete_requests_name_a_lower_bound() {
        let limits = Limits::default();
        let cases: &[(&[u8], usize)] = &[
            (b"", 1),
            (b"*", 2),
            (b"*2\r", 4),
            (b"*2\r\n", 5),
            (b"*2\r\n$3", 7),
            (b"*2\r\n$3\r\nGE", 13),
            (b"*2\r\n$3\r\nGET\r\n", 14),
            (b"*1\r\n$500000000\r\n", 500_000_018),
            (b"PING", 5),
            (b"PING\r", 6),
        ];
        for (i, (input, needed_total)) in cases.iter().enumerate() {
            let mut request = Request::new();
            let got = parse_request(input, &limits, &mut request);
            assert_eq!(
                got,
                Ok(Parsed::Incomplete {
                    needed_total: *needed_total
                }),
                "#{i}"
            );
            assert!(request.is_empty(), "#{i}");
            assert!(
                request.buf.capacity() < 1024,
                "#{i}: reserved for a claimed length"
            );
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let limits = limits_small();
        let mut request = Request::new();
        let inline = [[b'a'; 31].as_slice(), b"\r\n"].concat();
        assert_eq!(
            parse_request(&inline, &limits, &mut request),
            Ok(Parsed::Request { consumed: 33 })
        );
        let bulk = [b"*1\r\n$16\r\n".as_slice(), &[b'b'; 16], b"\r\n"].concat();
        assert_eq!(
            parse_request(&bulk, &limits, &mut request),
            Ok(Parsed::Request { consumed: 27 })
        );
        let many = b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n";
        assert_eq!(
            parse_request(many, &limits, &mut request),
            Ok(Parsed::Request {
                consumed: many.len()
            })
        );
        assert_eq!(request.len(), 4);
        assert_eq!(request.arg(3), b"d");
    }

    #[test]
    fn pipelined_requests_parse_one_by_one() {
        let input =
            b"*1\r\n$4\r\nPING\r\nECHO hi\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$3\r\nGE";
        let (requests, outcome) = parse_all(input, &Limits::default());
        let want: Vec<Vec<Vec<u8>>> = vec![
            vec![b"PING".to_vec()],
            vec![b"ECHO".to_vec(), b"hi".to_vec()],
            vec![],
            vec![b"GET".to_vec(), b"k".to_vec()],
        ];
        assert_eq!(requests, want);
        assert_eq!(outcome, Ok(input.len() - 10));
    }

    #[test]
    fn request_push_encode_and_accessors() {
        let mut request = Request::new();
        assert!(request.is_empty());
        request.push(b"SET");
        request.push(b"");
        request.push(b"v\r\n");
        assert_eq!(request.len(), 3);
        assert_eq!(request.arg(1), b"");
        let mut out = Vec::new();
        request.encode(&mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$3\r\nv\r\n\r\n");
        request.clear();
        assert!(request.is_empty());
        assert_eq!(request.args().count(), 0);
    }

    #[test]
    #[should_panic(expected = "argument 1 of 1")]
    fn arg_out_of_range_panics() {
        let mut request = Request::new();
        request.push(b"x");
        let _ = request.arg(1);
    }

    #[test]
    fn replies_encode_per_protocol() {
        type Write = fn(&mut Vec<u8>, Protocol);
        let cases: &[(&str, Write, &[u8], &[u8])] = &[
            (
                "simple",
                |o, _| write_simple(o, "OK"),
                b"+OK\r\n",
                b"+OK\r\n",
            ),
            (
                "simple crlf",
                |o, _| write_simple(o, "a\r\nb"),
                b"+a  b\r\n",
                b"+a  b\r\n",
            ),
            (
                "error",
                |o, _| write_error(o, "ERR bad\nthing"),
                b"-ERR bad thing\r\n",
                b"-ERR bad thing\r\n",
            ),
            ("int", |o, _| write_int(o, -42), b":-42\r\n", b":-42\r\n"),
            (
                "int min",
                |o, _| write_int(o, i64::MIN),
                b":-9223372036854775808\r\n",
                b":-9223372036854775808\r\n",
            ),
            (
                "int max",
                |o, _| write_int(o, i64::MAX),
                b":9223372036854775807\r\n",
                b":9223372036854775807\r\n",
            ),
            ("int zero", |o, _| write_int(o, 0), b":0\r\n", b":0\r\n"),
            (
                "bulk",
                |o, _| write_bulk(o, b"a\r\nb"),
                b"$4\r\na\r\nb\r\n",
                b"$4\r\na\r\nb\r\n",
            ),
            ("null", write_null, b"$-1\r\n", b"_\r\n"),
            ("null array", write_null_array, b"*-1\r\n", b"_\r\n"),
            ("array", |o, _| write_array_len(o, 3), b"*3\r\n", b"*3\r\n"),
            ("map", |o, p| write_map_len(o, 2, p), b"*4\r\n", b"%2\r\n"),
            ("set", |o, p| write_set_len(o, 2, p), b"*2\r\n", b"~2\r\n"),
            (
                "double",
                |o, p| write_double(o, 1.5, p),
                b"$3\r\n1.5\r\n",
                b",1.5\r\n",
            ),
            (
                "double int",
                |o, p| write_double(o, 3.0, p),
                b"$1\r\n3\r\n",
                b",3\r\n",
            ),
            (
                "double inf",
                |o, p| write_double(o, f64::INFINITY, p),
                b"$3\r\ninf\r\n",
                b",inf\r\n",
            ),
            (
                "double -inf",
                |o, p| write_double(o, f64::NEG_INFINITY, p),
                b"$4\r\n-inf\r\n",
                b",-inf\r\n",
            ),
            (
                "double nan",
                |o, p| write_double(o, f64::NAN, p),
                b"$3\r\nnan\r\n",
                b",nan\r\n",
            ),
            (
                "double big",
                |o, p| write_double(o, 1e300, p),
                b"$6\r\n1e+300\r\n",
                b",1e+300\r\n",
            ),
            (
                "double tiny",
                |o, p| write_double(o, 1.5e-7, p),
                b"$7\r\n1.5e-07\r\n",
                b",1.5e-07\r\n",
            ),
            (
                "double small",
                |o, p| write_double(o, 0.00015, p),
                b"$7\r\n0.00015\r\n",
                b",0.00015\r\n",
            ),
            (
                "bool true",
                |o, p| write_bool(o, true, p),
                b":1\r\n",
                b"#t\r\n",
            ),
            (
                "bool false",
                |o, p| write_bool(o, false, p),
                b":0\r\n",
                b"#f\r\n",
            ),
            (
                "verbatim",
                |o, p| write_verbatim(o, "hi", p),
                b"$2\r\nhi\r\n",
                b"=6\r\ntxt:hi\r\n",
            ),
        ];
        for (name, write, resp2, resp3) in cases {
            for (p, want) in [(Protocol::Resp2, resp2), (Protocol::Resp3, resp3)] {
                let mut out = Vec::new();
                write(&mut out, p);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(want),
                    "{name} in {p:?}"
                );
            }
        }
    }

    #[test]
    fn replies_decode() {
        type Case<'a> = (&'a [u8], Option<(Reply, usize)>);
        let cases: &[Case] = &[
            (b"+OK\r\n", Some((Reply::Simple("OK".into()), 5))),
            (b"-ERR x\r\n", Some((Reply::Error("ERR x".into()), 8))),
            (b"!5\r\nERR x\r\n", Some((Reply::Error("ERR x".into()), 11))),
            (b":-3\r\n", Some((Reply::Integer(-3), 5))),
            (b"$-1\r\n", Some((Reply::Nil, 5))),
            (b"_\r\n", Some((Reply::Nil, 3))),
            (b"*-1\r\n", Some((Reply::NilArray, 5))),
            (b"*0\r\n", Some((Reply::Array(vec![]), 4))),
            (b"$2\r\nab\r\n+x", Some((Reply::Bulk(b"ab".to_vec()), 8))),
            (b",-inf\r\n", Some((Reply::Double(f64::NEG_INFINITY), 7))),
            (b"#f\r\n", Some((Reply::Boolean(false), 4))),
            (b"(-123\r\n", Some((Reply::BigNumber("-123".into()), 7))),
            (
                b"=7\r\ntxt:abc\r\n",
                Some((Reply::Verbatim("abc".into()), 13)),
            ),
            (
                b">1\r\n:1\r\n",
                Some((Reply::Array(vec![Reply::Integer(1)]), 8)),
            ),
            (
                b"%1\r\n+k\r\n~2\r\n*1\r\n:1\r\n_\r\n",
                Some((
                    Reply::Map(vec![(
                        Reply::Simple("k".into()),
                        Reply::Set(vec![Reply::Array(vec![Reply::Integer(1)]), Reply::Nil]),
                    )]),
                    23,
                )),
            ),
            (b"", None),
            (b"+OK", None),
            (b"$5\r\nab", None),
            (b"*2\r\n:1\r\n", None),
            (b"*99999999999\r\n", None),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(
                parse_reply(input).as_ref(),
                Ok(want),
                "#{i}: {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn bad_replies_are_errors() {
        let deep = "*1\r\n".repeat(REPLY_DEPTH_MAX + 1);
        let cases: &[(&[u8], ParseError)] = &[
            (b"?x\r\n", ParseError::ReplyTypeUnknown { got: b'?' }),
            (b":x\r\n", ParseError::ReplyValueInvalid),
            (b"$-2\r\n", ParseError::ReplyValueInvalid),
            (b"*-2\r\n", ParseError::ReplyValueInvalid),
            (b"$1\r\nab\r\n", ParseError::ReplyValueInvalid),
            (b"#x\r\n", ParseError::ReplyValueInvalid),
            (b",x\r\n", ParseError::ReplyValueInvalid),
            (b"(1a\r\n", ParseError::ReplyValueInvalid),
            (b"_x\r\n", ParseError::ReplyValueInvalid),
            (b"=2\r\nab\r\n", ParseError::ReplyValueInvalid),
            (b"+\xff\r\n", ParseError::ReplyNotUtf8),
            (deep.as_bytes(), ParseError::ReplyTooDeep),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(
                parse_reply(input),
                Err(want.clone()),
                "#{i}: {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let ok = "*1\r\n".repeat(REPLY_DEPTH_MAX) + ":1\r\n";
        assert!(matches!(parse_reply(ok.as_bytes()), Ok(Some(_))));
    }

    // ---- properties ----

    fn arb_args() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..6)
    }

    fn arb_text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 :_.-]{1,12}".prop_filter("no leading dash", |s| !s.starts_with('-'))
    }

    fn arb_reply(resp3: bool) -> impl Strategy<Value = Reply> {
        let scalar2 = prop_oneof![
            arb_text().prop_map(Reply::Simple),
            arb_text().prop_map(Reply::Error),
            any::<i64>().prop_map(Reply::Integer),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(Reply::Bulk),
            Just(Reply::Nil),
        ];
        let scalar = if resp3 {
            prop_oneof![
                scalar2,
                any::<f64>()
                    .prop_filter("NaN is not equal to itself", |d| !d.is_nan())
                    .prop_map(Reply::Double),
                any::<bool>().prop_map(Reply::Boolean),
                "[a-z \\r\\n]{0,12}".prop_map(Reply::Verbatim),
                "-?[1-9][0-9]{0,40}".prop_map(Reply::BigNumber),
            ]
            .boxed()
        } else {
            prop_oneof![scalar2, Just(Reply::NilArray)].boxed()
        };
        scalar.prop_recursive(3, 24, 4, move |inner| {
            if resp3 {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Reply::Array),
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Reply::Set),
                    prop::collection::vec((inner.clone(), inner), 0..3).prop_map(Reply::Map),
                ]
                .boxed()
            } else {
                prop::collection::vec(inner, 0..4)
                    .prop_map(Reply::Array)
                    .boxed()
            }
        })
    }

    /// A stream of valid requests, multibulk and inline, plus possibly a trailing bad one.
    fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
        let multibulk = arb_args().prop_map(|args| {
            let mut request = Request::new();
            args.iter().for_each(|a| request.push(a));
            let mut out = Vec::new();
            request.encode(&mut out);
            out
        });
        let inline = "[a-z \"'\\\\x0-9]{0,20}\r?\n".prop_map(String::into_bytes);
        let junk = prop::collection::vec(any::<u8>(), 0..12);
        prop::collection::vec(prop_oneof![4 => multibulk, 2 => inline, 1 => junk], 0..6)
            .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn request_encode_parse_round_trips(args in arb_args()) {
            let mut request = Request::new();
            args.iter().for_each(|a| request.push(a));
            let mut encoded = Vec::new();
            request.encode(&mut encoded);
            let mut parsed = Request::new();
            let limits = Limits::default();
            prop_assert_eq!(parse_request(&encoded, &limits, &mut parsed), Ok(Parsed::Request { consumed: encoded.len() }));
            prop_assert_eq!(&parsed, &request);
            prop_assert_eq!(args_of(&parsed), args);
        }

        #[test]
        fn reply_resp3_round_trips(reply in arb_reply(true)) {
            let mut encoded = Vec::new();
            write_reply(&mut encoded, &reply, Protocol::Resp3);
            prop_assert_eq!(parse_reply(&encoded), Ok(Some((reply, encoded.len()))));
            for len in 0..encoded.len() {
                prop_assert_eq!(parse_reply(&encoded[..len]), Ok(None));
            }
        }

        #[test]
        fn reply_resp2_round_trips(reply in arb_reply(false)) {
            let mut encoded = Vec::new();
            write_reply(&mut encoded, &reply, Protocol::Resp2);
            prop_assert_eq!(parse_reply(&encoded), Ok(Some((reply, encoded.len()))));
        }

        #[test]
        fn any_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_all(&input, &limits_small());
            let _ = parse_all(&input, &Limits::default());
            let _ = parse_reply(&input);
        }

        #[test]
        fn mutated_streams_never_panic(
            stream in arb_stream(),
            edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        ) {
            let mut input = stream;
            for (at, byte) in edits {
                if !input.is_empty() {
                    let at = at % input.len();
                    input[at] = byte;
                }
            }
            let _ = parse_all(&input, &limits_small());
            let _ = parse_reply(&input);
        }

        #[test]
        fn split_streams_parse_as_whole(
            stream in arb_stream(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            small in any::<bool>(),
        ) {
            let limits = if small { limits_small() } else { Limits::default() };
            let whole = parse_all(&stream, &limits);
            let split = parse_split(&stream, &cuts, &limits);
            prop_assert_eq!(split, whole);
        }
    }
}
