//! Writes one member of an object: the value is serialised again and every other member
//! skipped.

use super::{emit, Error, KeyString};
use serde::ser::{self, Impossible, Serialize};
use std::io::Write;

/// Writes the member `key` (its `occurrence`-th, counting from 0) of the struct or map it is
/// given (through `Some` and newtypes) at `level`.
pub(super) struct Pick<'k, 'a, W> {
    key: &'k str,
    occurrence: usize,
    w: &'a mut W,
    level: usize,
    /// Of a map: entries with the key seen so far, and whether the next value is the one.
    seen: usize,
    this: bool,
}

impl<'k, 'a, W> Pick<'k, 'a, W> {
    pub(super) fn new(key: &'k str, occurrence: usize, w: &'a mut W, level: usize) -> Self {
        Pick {
            key,
            occurrence,
            w,
            level,
            seen: 0,
            this: false,
        }
    }
}

/// The value did not serialise as the object the probe saw: `Serialize` was not deterministic.
fn changed() -> Error {
    ser::Error::custom("a value serialised differently twice")
}

impl<W: Write> ser::SerializeStruct for Pick<'_, '_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        if key == self.key {
            emit(v, self.w, self.level)?;
        }
        Ok(())
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<W: Write> ser::SerializeMap for Pick<'_, '_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.this = false;
        if key.serialize(KeyString)? == self.key {
            self.this = self.seen == self.occurrence;
            self.seen += 1;
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if self.this {
            emit(v, self.w, self.level)?;
        }
        Ok(())
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

macro_rules! changed {
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, _: $t) -> Result<(), Error> { Err(changed()) })*
    };
}

impl<'k, 'a, W: Write> ser::Serializer for Pick<'k, 'a, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Pick<'k, 'a, W>;
    type SerializeStruct = Pick<'k, 'a, W>;
    type SerializeStructVariant = Impossible<(), Error>;

    changed!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8], serialize_unit_struct: &'static str);

    fn serialize_none(self) -> Result<(), Error> {
        Err(changed())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(changed())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Err(changed())
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
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(changed())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(changed())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(changed())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(changed())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(changed())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(changed())
    }
}
