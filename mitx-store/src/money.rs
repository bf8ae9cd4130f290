//! Money columns: NUMERIC on PostgreSQL, an exact count of 1e-5 dollars on SQLite.
//!
//! SQLite has no exact decimal type (its NUMERIC is a float), so amounts are stored as
//! INTEGER hundred-thousandths of a dollar: every amount the schema allows (prices with 2
//! places, discount amounts and totals with 5) is represented exactly.

use mitx_core::money::Money;
use rust_decimal::Decimal;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

/// Units per dollar on SQLite.
const SCALE: i64 = 100_000;

/// A money value as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbMoney(pub Money);

impl DbMoney {
    /// The SQLite integer for this amount; refused when it has more than 5 decimal places
    /// or does not fit.
    pub fn to_units(self) -> Result<i64, BoxDynError> {
        let scaled = self.0.amount() * Decimal::from(SCALE);
        if !scaled.fract().is_zero() {
            return Err(format!("{} has more than 5 decimal places", self.0.amount()).into());
        }
        i64::try_from(scaled).map_err(|e| format!("{} does not fit: {e}", self.0.amount()).into())
    }

    /// The amount of a SQLite integer.
    pub fn from_units(units: i64) -> DbMoney {
        DbMoney(Money::new(Decimal::new(units, 5).normalize()))
    }
}

impl Type<Sqlite> for DbMoney {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for DbMoney {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.to_units()?, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for DbMoney {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(DbMoney::from_units(<i64 as Decode<'r, Sqlite>>::decode(
            value,
        )?))
    }
}

impl Type<Postgres> for DbMoney {
    fn type_info() -> PgTypeInfo {
        <Decimal as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <Decimal as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for DbMoney {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <Decimal as Encode<'q, Postgres>>::encode(self.0.amount(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbMoney {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(DbMoney(Money::new(
            <Decimal as Decode<'r, Postgres>>::decode(value)?.normalize(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_exactly() {
        for text in [
            "0",
            "1000.00",
            "99999.99",
            "10.55500",
            "0.00001",
            "12345678.12345",
        ] {
            let money = Money::parse_amount(text).unwrap();
            let units = DbMoney(money).to_units().unwrap();
            assert_eq!(DbMoney::from_units(units).0, money, "{text}");
        }
        assert!(DbMoney(Money::new(Decimal::new(1, 6))).to_units().is_err());
    }
}
