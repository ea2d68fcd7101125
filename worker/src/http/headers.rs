//! The header lines of one message, owned: the head's bytes (the pooled buffer they were read
//! into, handed over by the parser, or a copy) plus the (name, value) ranges into it. Edits (add,
//! set, delete) append new bytes or drop ranges, so a head is copied only when written out.

/// A byte range in [`Headers::buf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    pub(super) fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }

    /// The same bytes `by` further into the buffer.
    pub(super) fn shifted(self, by: usize) -> Span {
        Span::new(self.start as usize + by, self.end as usize + by)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Headers {
    buf: Vec<u8>,
    list: Vec<(Span, Span)>,
}

impl Headers {
    /// Headers over `buf`, which holds the head's bytes, with `list` the lines' spans in it.
    pub(super) fn from_parts(buf: Vec<u8>, list: Vec<(Span, Span)>) -> Headers {
        Headers { buf, list }
    }

    /// The buffer the lines are in (for a pooled one to go back to its pool).
    pub fn into_buf(self) -> Vec<u8> {
        self.buf
    }

    pub(super) fn slice(&self, s: Span) -> &[u8] {
        &self.buf[s.start as usize..s.end as usize]
    }

    pub(super) fn store(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        Span::new(start, self.buf.len())
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every line in order, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.list.iter().map(move |&(n, v)| (self.slice(n), self.slice(v)))
    }

    /// The value of the first line named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    /// The values of every line named `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Each comma-separated element of every `name` line, trimmed, empty ones skipped.
    pub fn elements<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).flat_map(|v| v.split(|&b| b == b',')).map(trim).filter(|e| !e.is_empty())
    }

    /// Appends a line at the end.
    pub fn append(&mut self, name: &[u8], value: &[u8]) {
        let n = self.store(name);
        let v = self.store(value);
        self.list.push((n, v));
    }

    /// Removes every line named `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.list.len();
        let buf = &self.buf;
        self.list.retain(|&(n, _)| !buf[n.start as usize..n.end as usize].eq_ignore_ascii_case(name.as_bytes()));
        before - self.list.len()
    }

    /// Replaces every `name` line with one line holding `value`, as HAProxy's `set-header`.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        if let Ok(n) = std::str::from_utf8(name) {
            self.remove(n);
        }
        self.append(name, value);
    }

    /// Keeps the lines for which `keep(name, value)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8], &[u8]) -> bool) {
        let buf = &self.buf;
        self.list.retain(|&(n, v)| keep(&buf[n.start as usize..n.end as usize], &buf[v.start as usize..v.end as usize]));
    }

    /// Rewrites the values of `name` lines: `edit` returns `None` to keep a line as it is,
    /// `Some(None)` to drop it, `Some(Some(v))` to replace its value.
    pub fn edit_values(&mut self, name: &str, mut edit: impl FnMut(&[u8]) -> Option<Option<Vec<u8>>>) {
        let mut i = 0;
        while i < self.list.len() {
            let (n, v) = self.list[i];
            if self.slice(n).eq_ignore_ascii_case(name.as_bytes()) {
                match edit(self.slice(v)) {
                    None => {}
                    Some(None) => {
                        self.list.remove(i);
                        continue;
                    }
                    Some(Some(new)) => {
                        let span = self.store(&new);
                        self.list[i].1 = span;
                    }
                }
            }
            i += 1;
        }
    }

    /// Writes the lines as `name: value\r\n`.
    pub fn write(&self, out: &mut Vec<u8>) {
        for (n, v) in self.iter() {
            out.extend_from_slice(n);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Bytes [`Headers::write`] produces.
    pub fn written_len(&self) -> usize {
        self.list.iter().map(|&(n, v)| (n.end - n.start + v.end - v.start) as usize + 4).sum()
    }
}

/// `bytes` without leading and trailing blanks (SP, HTAB).
pub fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(start, |e| e + 1);
    &bytes[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        let mut h = Headers::default();
        h.append(b"Host", b"a");
        h.append(b"Cookie", b"x=1");
        h.append(b"cookie", b"y=2");
        h
    }

    #[test]
    fn lookup_is_case_insensitive_and_ordered() {
        let h = sample();
        assert_eq!(h.get("HOST"), Some(&b"a"[..]));
        assert_eq!(h.get_all("cookie").collect::<Vec<_>>(), vec![&b"x=1"[..], &b"y=2"[..]]);
        assert!(!h.contains("accept"));
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn edits_keep_the_other_lines_in_place() {
        let mut h = sample();
        h.set(b"X-A", b"1");
        assert_eq!(h.remove("cookie"), 2);
        h.append(b"X-A", b"2");
        let mut out = Vec::new();
        h.write(&mut out);
        assert_eq!(out, b"Host: a\r\nX-A: 1\r\nX-A: 2\r\n");
        assert_eq!(h.written_len(), out.len());
        h.set(b"x-a", b"3");
        assert_eq!(h.get_all("X-A").collect::<Vec<_>>(), vec![&b"3"[..]]);
    }

    #[test]
    fn values_are_edited_dropped_or_kept() {
        let mut h = sample();
        h.edit_values("cookie", |v| if v == b"x=1" { Some(None) } else { Some(Some(b"z=3".to_vec())) });
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(&b"Host"[..], &b"a"[..]), (&b"cookie"[..], &b"z=3"[..])]);
    }

    #[test]
    fn elements_split_on_commas() {
        let mut h = Headers::default();
        h.append(b"Connection", b"keep-alive , Upgrade");
        h.append(b"Connection", b",close,");
        assert_eq!(h.elements("connection").collect::<Vec<_>>(), vec![&b"keep-alive"[..], b"Upgrade", b"close"]);
    }

    #[test]
    fn trim_blanks() {
        assert_eq!(trim(b" \ta b\t "), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
    }
}
