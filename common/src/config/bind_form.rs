//! The two forms of a `bind` entry ([`RawBind`]): the address alone, `"*:80"`, or a struct with
//! options, `(addr: "*:443", ssl: (…))`. A hand-written visitor rather than
//! `#[serde(untagged)]`: a mistake inside the struct keeps RON's own message and position
//! (the unknown field, the bad value and where it is) instead of "did not match any variant".

use super::raw::{RawBind, RawBindProto, RawBindSsl};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The struct form, read by serde's derive (unknown fields refused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindStruct {
    addr: String,
    #[serde(default)]
    ssl: Option<RawBindSsl>,
    #[serde(default)]
    proto: Option<RawBindProto>,
}

struct BindVisitor;

impl<'de> Visitor<'de> for BindVisitor {
    type Value = RawBind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an address string or a bind struct (addr: \"…\", ssl: (…), proto: …)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawBind, E> {
        Ok(RawBind { addr: v.to_string(), ssl: None, proto: None })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawBind, E> {
        Ok(RawBind { addr: v, ssl: None, proto: None })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawBind, A::Error> {
        let s = BindStruct::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(RawBind { addr: s.addr, ssl: s.ssl, proto: s.proto })
    }
}

impl<'de> Deserialize<'de> for RawBind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BindVisitor)
    }
}

impl Serialize for RawBind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.ssl.is_none() && self.proto.is_none() {
            return s.serialize_str(&self.addr);
        }
        let mut st = s.serialize_struct("RawBind", 3)?;
        st.serialize_field("addr", &self.addr)?;
        match &self.ssl {
            Some(ssl) => st.serialize_field("ssl", ssl)?,
            None => st.skip_field("ssl")?,
        }
        match &self.proto {
            Some(p) => st.serialize_field("proto", p)?,
            None => st.skip_field("proto")?,
        }
        st.end()
    }
}

impl std::fmt::Display for RawBind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.addr)
    }
}

impl RawBind {
    pub fn as_str(&self) -> &str {
        &self.addr
    }
}

impl From<String> for RawBind {
    fn from(addr: String) -> Self {
        RawBind { addr, ssl: None, proto: None }
    }
}

impl From<&str> for RawBind {
    fn from(addr: &str) -> Self {
        RawBind { addr: addr.to_string(), ssl: None, proto: None }
    }
}

impl PartialEq<&str> for RawBind {
    fn eq(&self, other: &&str) -> bool {
        self.ssl.is_none() && self.proto.is_none() && self.addr == *other
    }
}

impl PartialEq<String> for RawBind {
    fn eq(&self, other: &String) -> bool {
        self.ssl.is_none() && self.proto.is_none() && self.addr == *other
    }
}

#[cfg(test)]
mod tests {
    use crate::config::raw::RawProxy;

    fn parse(text: &str) -> Result<RawProxy, ron::error::SpannedError> {
        crate::config::ron_options().from_str::<RawProxy>(text)
    }

    #[test]
    fn both_forms_in_one_list() {
        let p = parse(r#"(name: "w", bind: ["*:80", (addr: "*:443", ssl: (crt: ["/a.pem"], verify: optional))])"#).unwrap();
        assert_eq!(p.bind[0], "*:80");
        assert_eq!(p.bind[1].addr, "*:443");
        let ssl = p.bind[1].ssl.as_ref().unwrap();
        assert_eq!((ssl.crt.as_slice(), ssl.verify), (&["/a.pem".to_string()][..], Some(crate::config::raw::RawClientVerify::Optional)));
        let text = crate::config::to_ron(&crate::config::RawConfig { frontend: vec![p.clone()], ..Default::default() }).unwrap();
        let again = crate::config::parse_raw("x", &text).unwrap();
        assert_eq!(again.frontend[0], p, "{text}");
    }

    #[test]
    fn a_mistake_inside_the_struct_names_the_field_and_its_position() {
        let e = parse("(name: \"w\", bind: [\"*:80\",\n  (addr: \"*:443\", ssl: (crt: [\"/a.pem\"],\n     tickts: false))])").unwrap_err();
        let msg = e.code.to_string();
        assert!(msg.contains("tickts") && !msg.contains("variant"), "{msg}");
        assert_eq!((e.span.start.line, e.span.start.col), (3, 6), "{e}");
        let e = parse("(bind: [(addr: \"*:443\", ssl: (verify: always))])").unwrap_err();
        assert!(e.code.to_string().contains("always"), "{e}");
        let e = parse("(bind: [(adr: \"*:443\")])").unwrap_err();
        assert!(e.code.to_string().contains("adr"), "{e}");
    }
}
