//! Writes a value whose members come in key order (or, with `gather`, a map whose keys do
//! not): scalars as serde_json writes them, arrays and in-order objects as they come, each
//! member through [`emit`].

use super::{emit, newline, put, quoted, Error, KeyString, RAW};
use serde::ser::{self, Serialize};
use std::io::Write;

pub(super) struct Pretty<'a, W> {
    pub w: &'a mut W,
    pub level: usize,
    /// The map's keys are out of order: gather its entries, then write them sorted.
    pub gather: bool,
}

impl<W: Write> Pretty<'_, W> {
    /// A scalar, as serde_json writes it.
    fn scalar<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.w, v)
    }
}

/// An array, or the members of an object, written as they come.
pub(super) struct Members<'a, W> {
    w: &'a mut W,
    level: usize,
    count: usize,
    /// `[` and `]`, or `{` and `}`.
    brackets: (&'static str, &'static str),
    /// Closes an enum variant's wrapping object after the members.
    wrapped: bool,
}

impl<'a, W: Write> Members<'a, W> {
    fn open(w: &'a mut W, level: usize, brackets: (&'static str, &'static str)) -> Self {
        Members {
            w,
            level,
            count: 0,
            brackets,
            wrapped: false,
        }
    }

    /// `{"variant": ` written, the members one level in.
    fn in_variant(
        w: &'a mut W,
        level: usize,
        variant: &str,
        brackets: (&'static str, &'static str),
    ) -> Result<Self, Error> {
        put(w, "{")?;
        newline(w, level + 1)?;
        put(w, &quoted(variant)?)?;
        put(w, ": ")?;
        let mut m = Members::open(w, level + 1, brackets);
        m.wrapped = true;
        Ok(m)
    }

    /// Before a member: the opening bracket or a comma, and its line.
    fn next(&mut self) -> Result<(), Error> {
        put(
            self.w,
            if self.count == 0 {
                self.brackets.0
            } else {
                ","
            },
        )?;
        self.count += 1;
        newline(self.w, self.level + 1)
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.next()?;
        emit(v, self.w, self.level + 1)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Error> {
        self.next()?;
        put(self.w, &quoted(key)?)?;
        put(self.w, ": ")?;
        emit(v, self.w, self.level + 1)
    }

    fn close(self) -> Result<(), Error> {
        if self.count == 0 {
            put(self.w, self.brackets.0)?;
        } else {
            newline(self.w, self.level)?;
        }
        put(self.w, self.brackets.1)?;
        if self.wrapped {
            newline(self.w, self.level - 1)?;
            put(self.w, "}")?;
        }
        Ok(())
    }
}

const ARRAY: (&str, &str) = ("[", "]");
const OBJECT: (&str, &str) = ("{", "}");

/// Members gathered as text, written sorted by key when all have come (a map whose keys are
/// out of order, an enum's struct variant).
pub(super) struct Gathered<'a, W> {
    w: &'a mut W,
    level: usize,
    /// (key, its JSON, the value's text one level in).
    members: Vec<(String, Vec<u8>)>,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl<W: Write> Gathered<'_, W> {
    fn add<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<(), Error> {
        let depth = self.level + 1 + usize::from(self.variant.is_some());
        let mut text = Vec::new();
        emit(v, &mut text, depth)?;
        self.members.push((key, text));
        Ok(())
    }

    fn finish(mut self) -> Result<(), Error> {
        // A repeated key keeps its last value, as a map does.
        self.members.reverse();
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        self.members.dedup_by(|a, b| a.0 == b.0);
        let mut m = match self.variant {
            Some(v) => Members::in_variant(self.w, self.level, v, OBJECT)?,
            None => Members::open(self.w, self.level, OBJECT),
        };
        for (key, text) in &self.members {
            m.next()?;
            put(m.w, &quoted(key)?)?;
            put(m.w, ": ")?;
            m.w.write_all(text).map_err(Error::io)?;
        }
        m.close()
    }
}

/// A map: written as its entries come, or gathered.
pub(super) enum MapWriter<'a, W> {
    Streamed(Members<'a, W>, Option<String>),
    Gathered(Gathered<'a, W>),
}

/// A struct: written as its fields come, or a raw value's text.
pub(super) enum StructWriter<'a, W> {
    Fields(Members<'a, W>),
    Raw(&'a mut W, usize),
}

macro_rules! scalars {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, v: $t) -> Result<(), Error> { self.scalar(&v) })*
    };
}

impl<'a, W: Write> ser::Serializer for Pretty<'a, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Members<'a, W>;
    type SerializeTuple = Members<'a, W>;
    type SerializeTupleStruct = Members<'a, W>;
    type SerializeTupleVariant = Members<'a, W>;
    type SerializeMap = MapWriter<'a, W>;
    type SerializeStruct = StructWriter<'a, W>;
    type SerializeStructVariant = Gathered<'a, W>;

    scalars!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str);

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // As a `Value` holds them: an array of numbers.
        let mut m = Members::open(self.w, self.level, ARRAY);
        for b in v {
            m.element(b)?;
        }
        m.close()
    }
    fn serialize_none(self) -> Result<(), Error> {
        put(self.w, "null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        put(self.w, "null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        put(self.w, "null")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        let mut m = Members::open(self.w, self.level, OBJECT);
        m.field(variant, v)?;
        m.close()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Members<'a, W>, Error> {
        Ok(Members::open(self.w, self.level, ARRAY))
    }
    fn serialize_tuple(self, _: usize) -> Result<Members<'a, W>, Error> {
        Ok(Members::open(self.w, self.level, ARRAY))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Members<'a, W>, Error> {
        Ok(Members::open(self.w, self.level, ARRAY))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Members<'a, W>, Error> {
        Members::in_variant(self.w, self.level, variant, ARRAY)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapWriter<'a, W>, Error> {
        Ok(if self.gather {
            MapWriter::Gathered(Gathered {
                w: self.w,
                level: self.level,
                members: Vec::new(),
                key: None,
                variant: None,
            })
        } else {
            MapWriter::Streamed(Members::open(self.w, self.level, OBJECT), None)
        })
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<StructWriter<'a, W>, Error> {
        Ok(if name == RAW {
            StructWriter::Raw(self.w, self.level)
        } else {
            StructWriter::Fields(Members::open(self.w, self.level, OBJECT))
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Gathered<'a, W>, Error> {
        Ok(Gathered {
            w: self.w,
            level: self.level,
            members: Vec::new(),
            key: None,
            variant: Some(variant),
        })
    }
}

macro_rules! elements {
    ($($tr:ident :: $m:ident),*) => {
        $(impl<W: Write> ser::$tr for Members<'_, W> {
            type Ok = ();
            type Error = Error;
            fn $m<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.element(v)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        })*
    };
}
elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<W: Write> ser::SerializeMap for MapWriter<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let k = key.serialize(KeyString)?;
        match self {
            MapWriter::Streamed(_, pending) => *pending = Some(k),
            MapWriter::Gathered(g) => g.key = Some(k),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        match self {
            MapWriter::Streamed(m, pending) => {
                let key = pending.take().unwrap_or_default();
                m.field(&key, v)
            }
            MapWriter::Gathered(g) => {
                let key = g.key.take().unwrap_or_default();
                g.add(key, v)
            }
        }
    }
    fn end(self) -> Result<(), Error> {
        match self {
            MapWriter::Streamed(m, _) => m.close(),
            MapWriter::Gathered(g) => g.finish(),
        }
    }
}

impl<W: Write> ser::SerializeStruct for StructWriter<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        match self {
            StructWriter::Fields(m) => m.field(key, v),
            StructWriter::Raw(w, level) => {
                let text = raw_text(v)?;
                put(*w, &super::super::json::pretty_compact(&text, *level))
            }
        }
    }
    fn end(self) -> Result<(), Error> {
        match self {
            StructWriter::Fields(m) => m.close(),
            StructWriter::Raw(..) => Ok(()),
        }
    }
}

impl<W: Write> ser::SerializeStructVariant for Gathered<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.add(key.to_string(), v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A raw value's text: the one string field serde_json gives it, read back from its JSON.
fn raw_text<T: Serialize + ?Sized>(v: &T) -> Result<String, Error> {
    serde_json::from_str(&serde_json::to_string(v)?)
}
