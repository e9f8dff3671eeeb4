//! Number types. Every formula in the crate is written once, generically, over these traits:
//!
//! * [`Ring`]: `+`, `-`, `*` and the integers. Implemented for `BigInt` (fraction-free exact
//!   arithmetic), [`Poly`] (polynomials in the density `s`), and every [`Scalar`].
//! * [`Scalar`]: an ordered field with exact conversion from rationals where the type allows:
//!   `BigRational` (the exact default), `f64`, and `rug::Rational` behind the `rug` feature.
//!
//! Values read from the user (`"-3/7"`, `0.01`, `1e-3`) are parsed exactly by [`parse_rational`];
//! an `f64` converts exactly to a dyadic rational ([`Scalar::to_rational`]).

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::ToPrimitive;
use std::fmt::Debug;

/// A commutative ring with the integers embedded: what the moment convolutions need.
pub trait Ring: Clone + Debug + Send + Sync + 'static {
    fn zero() -> Self;
    fn one() -> Self;
    /// The image of an integer (exact for every exact type; rounded for `f64`).
    fn from_bigint(n: &BigInt) -> Self;
    fn add(&self, o: &Self) -> Self;
    fn sub(&self, o: &Self) -> Self;
    fn mul(&self, o: &Self) -> Self;
    fn is_zero(&self) -> bool;

    fn from_i64(n: i64) -> Self {
        Self::from_bigint(&BigInt::from(n))
    }
    fn neg(&self) -> Self {
        Self::zero().sub(self)
    }
    /// `self += a * b` (types with in-place arithmetic override this).
    fn add_mul(&mut self, a: &Self, b: &Self) {
        *self = self.add(&a.mul(b));
    }
    /// `self^k` by repeated squaring.
    fn pow(&self, mut k: u32) -> Self {
        let mut base = self.clone();
        let mut acc = Self::one();
        while k > 0 {
            if k & 1 == 1 {
                acc = acc.mul(&base);
            }
            k >>= 1;
            if k > 0 {
                base = base.mul(&base);
            }
        }
        acc
    }
    /// `[self^0, self^1, ..., self^k]`.
    fn powers(&self, k: usize) -> Vec<Self> {
        let mut out = Vec::with_capacity(k + 1);
        out.push(Self::one());
        for r in 1..=k {
            let next = out[r - 1].mul(self);
            out.push(next);
        }
        out
    }
}

/// An ordered field: rationals exactly, or floating point.
pub trait Scalar: Ring + PartialOrd {
    /// Whether arithmetic is exact (no rounding anywhere).
    const EXACT: bool;
    /// Short name for reports: `"num-rational"`, `"f64"`, `"rug"`.
    const NAME: &'static str;
    /// `self / o`; `o` must be nonzero (callers check).
    fn div(&self, o: &Self) -> Self;
    /// The image of a rational (exact, or correctly rounded for `f64`).
    fn from_rational(q: &BigRational) -> Self;
    /// The exact rational value (`None` only for a non-finite `f64`).
    fn to_rational(&self) -> Option<BigRational>;
    fn to_f64(&self) -> f64;

    fn from_ratio(n: i64, d: i64) -> Self {
        Self::from_rational(&BigRational::new(n.into(), d.into()))
    }
    fn positive(&self) -> bool {
        *self > Self::zero()
    }
    fn max0(&self) -> Self {
        if self.positive() {
            self.clone()
        } else {
            Self::zero()
        }
    }
}

// ---------------------------------------------------------------- BigInt (fraction-free) ----

impl Ring for BigInt {
    fn zero() -> Self {
        num_traits::Zero::zero()
    }
    fn one() -> Self {
        num_traits::One::one()
    }
    fn from_bigint(n: &BigInt) -> Self {
        n.clone()
    }
    fn add(&self, o: &Self) -> Self {
        self + o
    }
    fn sub(&self, o: &Self) -> Self {
        self - o
    }
    fn mul(&self, o: &Self) -> Self {
        self * o
    }
    fn is_zero(&self) -> bool {
        num_traits::Zero::is_zero(self)
    }
    fn add_mul(&mut self, a: &Self, b: &Self) {
        *self += a * b;
    }
}

// ---------------------------------------------------------------- BigRational --------------

impl Ring for BigRational {
    fn zero() -> Self {
        num_traits::Zero::zero()
    }
    fn one() -> Self {
        num_traits::One::one()
    }
    fn from_bigint(n: &BigInt) -> Self {
        BigRational::from_integer(n.clone())
    }
    fn add(&self, o: &Self) -> Self {
        self + o
    }
    fn sub(&self, o: &Self) -> Self {
        self - o
    }
    fn mul(&self, o: &Self) -> Self {
        self * o
    }
    fn is_zero(&self) -> bool {
        num_traits::Zero::is_zero(self)
    }
}

impl Scalar for BigRational {
    const EXACT: bool = true;
    const NAME: &'static str = "num-rational";
    fn div(&self, o: &Self) -> Self {
        self / o
    }
    fn from_rational(q: &BigRational) -> Self {
        q.clone()
    }
    fn to_rational(&self) -> Option<BigRational> {
        Some(self.clone())
    }
    fn to_f64(&self) -> f64 {
        rational_to_f64(self)
    }
}

// ---------------------------------------------------------------- f64 ----------------------

impl Ring for f64 {
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
    fn from_bigint(n: &BigInt) -> Self {
        n.to_f64().unwrap_or(f64::NAN)
    }
    fn add(&self, o: &Self) -> Self {
        self + o
    }
    fn sub(&self, o: &Self) -> Self {
        self - o
    }
    fn mul(&self, o: &Self) -> Self {
        self * o
    }
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
    fn add_mul(&mut self, a: &Self, b: &Self) {
        *self = a.mul_add(*b, *self);
    }
    fn pow(&self, k: u32) -> Self {
        self.powi(k as i32)
    }
}

impl Scalar for f64 {
    const EXACT: bool = false;
    const NAME: &'static str = "f64";
    fn div(&self, o: &Self) -> Self {
        self / o
    }
    fn from_rational(q: &BigRational) -> Self {
        rational_to_f64(q)
    }
    fn to_rational(&self) -> Option<BigRational> {
        BigRational::from_float(*self)
    }
    fn to_f64(&self) -> f64 {
        *self
    }
}

// ---------------------------------------------------------------- rug (GMP) ----------------

#[cfg(feature = "rug")]
mod rug_impl {
    use super::*;

    /// Exact conversion through the decimal digits of numerator and denominator.
    pub fn big_to_rug(n: &BigInt) -> rug::Integer {
        let (sign, digits) = n.to_u32_digits();
        let mut out = rug::Integer::from_digits(&digits, rug::integer::Order::Lsf);
        if sign == num_bigint::Sign::Minus {
            out = -out;
        }
        out
    }

    pub fn rug_to_big(n: &rug::Integer) -> BigInt {
        let mut digits = vec![0u32; n.significant_digits::<u32>()];
        n.write_digits(&mut digits, rug::integer::Order::Lsf);
        let mag = num_bigint::BigUint::new(digits);
        if *n < 0 {
            BigInt::from_biguint(num_bigint::Sign::Minus, mag)
        } else {
            BigInt::from_biguint(num_bigint::Sign::Plus, mag)
        }
    }

    impl Ring for rug::Rational {
        fn zero() -> Self {
            rug::Rational::new()
        }
        fn one() -> Self {
            rug::Rational::from(1)
        }
        fn from_bigint(n: &BigInt) -> Self {
            rug::Rational::from(big_to_rug(n))
        }
        fn add(&self, o: &Self) -> Self {
            rug::Rational::from(self + o)
        }
        fn sub(&self, o: &Self) -> Self {
            rug::Rational::from(self - o)
        }
        fn mul(&self, o: &Self) -> Self {
            rug::Rational::from(self * o)
        }
        fn is_zero(&self) -> bool {
            self.cmp0() == std::cmp::Ordering::Equal
        }
        fn add_mul(&mut self, a: &Self, b: &Self) {
            *self += rug::Rational::from(a * b);
        }
    }

    impl Scalar for rug::Rational {
        const EXACT: bool = true;
        const NAME: &'static str = "rug";
        fn div(&self, o: &Self) -> Self {
            rug::Rational::from(self / o)
        }
        fn from_rational(q: &BigRational) -> Self {
            rug::Rational::from((big_to_rug(q.numer()), big_to_rug(q.denom())))
        }
        fn to_rational(&self) -> Option<BigRational> {
            Some(BigRational::new(
                rug_to_big(self.numer()),
                rug_to_big(self.denom()),
            ))
        }
        fn to_f64(&self) -> f64 {
            rug::Rational::to_f64(self)
        }
    }

    impl Ring for rug::Integer {
        fn zero() -> Self {
            rug::Integer::new()
        }
        fn one() -> Self {
            rug::Integer::from(1)
        }
        fn from_bigint(n: &BigInt) -> Self {
            big_to_rug(n)
        }
        fn add(&self, o: &Self) -> Self {
            rug::Integer::from(self + o)
        }
        fn sub(&self, o: &Self) -> Self {
            rug::Integer::from(self - o)
        }
        fn mul(&self, o: &Self) -> Self {
            rug::Integer::from(self * o)
        }
        fn is_zero(&self) -> bool {
            self.cmp0() == std::cmp::Ordering::Equal
        }
        fn add_mul(&mut self, a: &Self, b: &Self) {
            *self += a * b;
        }
    }
}

#[cfg(feature = "rug")]
pub use rug_impl::{big_to_rug, rug_to_big};

// ---------------------------------------------------------------- Z / 2^{64L} ---------------

/// The integers modulo `2^{64 L}`, in two's complement (little-endian 64-bit limbs, no
/// allocation). Reduction modulo `2^{64 L}` is a ring homomorphism, so a computation in this
/// ring gives every result exactly (by [`Wrapping::to_bigint`]) when the true integer result is
/// known to lie in `[-2^{64L-1}, 2^{64L-1})`, whatever the size of the intermediate values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wrapping<const L: usize>(pub [u64; L]);

impl<const L: usize> Wrapping<L> {
    fn negated(&self) -> Self {
        let mut out = [0; L];
        let mut carry = true;
        for (o, &x) in out.iter_mut().zip(&self.0) {
            (*o, carry) = (!x).overflowing_add(u64::from(carry));
        }
        Wrapping(out)
    }
    /// The integer in `[-2^{64L-1}, 2^{64L-1})` congruent to `self`.
    pub fn to_bigint(&self) -> BigInt {
        let negative = self.0[L - 1] >> 63 == 1;
        let magnitude = if negative { self.negated() } else { *self };
        let digits = magnitude
            .0
            .iter()
            .flat_map(|&d| [d as u32, (d >> 32) as u32]);
        let b = BigInt::from(num_bigint::BigUint::new(digits.collect()));
        if negative { -b } else { b }
    }
}

impl<const L: usize> Ring for Wrapping<L> {
    fn zero() -> Self {
        Wrapping([0; L])
    }
    fn one() -> Self {
        let mut out = [0; L];
        out[0] = 1;
        Wrapping(out)
    }
    fn from_bigint(n: &BigInt) -> Self {
        let mut out = [0; L];
        for (o, d) in out.iter_mut().zip(n.magnitude().iter_u64_digits()) {
            *o = d;
        }
        if n.sign() == num_bigint::Sign::Minus {
            Wrapping(out).negated()
        } else {
            Wrapping(out)
        }
    }
    fn add(&self, o: &Self) -> Self {
        let mut out = [0; L];
        let mut carry = false;
        for (k, limb) in out.iter_mut().enumerate() {
            let (t, c1) = self.0[k].overflowing_add(o.0[k]);
            let (t, c2) = t.overflowing_add(u64::from(carry));
            (*limb, carry) = (t, c1 || c2);
        }
        Wrapping(out)
    }
    fn sub(&self, o: &Self) -> Self {
        self.add(&o.negated())
    }
    /// Schoolbook, limbs at or past `L` dropped; `o`'s leading zero limbs skipped (row `i` then
    /// ends at `out[i + len]`, which no earlier row has reached).
    fn mul(&self, o: &Self) -> Self {
        let len = L - o.0.iter().rev().take_while(|&&d| d == 0).count();
        let mut out = [0u64; L];
        for (i, &x) in self.0.iter().enumerate() {
            if x == 0 {
                continue;
            }
            let end = (L - i).min(len);
            let mut carry = 0u128;
            for j in 0..end {
                let t = u128::from(x) * u128::from(o.0[j]) + u128::from(out[i + j]) + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            if i + end < L {
                out[i + end] = carry as u64;
            }
        }
        Wrapping(out)
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&x| x == 0)
    }
}

// ---------------------------------------------------------------- polynomials --------------

/// A polynomial `c_0 + c_1 s + ... + c_d s^d` over a ring; used to carry the density `s`
/// symbolically through the same moment convolutions that evaluate the loss at one `s`.
#[derive(Clone, Debug, PartialEq)]
pub struct Poly<R>(pub Vec<R>);

impl<R: Ring> Poly<R> {
    /// The polynomial `s`.
    pub fn var() -> Self {
        Poly(vec![R::zero(), R::one()])
    }
    pub fn constant(c: R) -> Self {
        Poly(vec![c])
    }
    /// Coefficient of `s^k` (zero past the end).
    pub fn coeff(&self, k: usize) -> R {
        self.0.get(k).cloned().unwrap_or_else(R::zero)
    }
    pub fn degree(&self) -> Option<usize> {
        self.0.iter().rposition(|c| !c.is_zero())
    }
    fn trimmed(mut self) -> Self {
        while self.0.len() > 1 && self.0.last().is_some_and(|c| c.is_zero()) {
            self.0.pop();
        }
        self
    }
    pub fn map<T>(&self, f: impl Fn(&R) -> T) -> Poly<T> {
        Poly(self.0.iter().map(f).collect())
    }
}

impl<R: Scalar> Poly<R> {
    /// Horner evaluation.
    pub fn eval(&self, s: &R) -> R {
        self.0
            .iter()
            .rev()
            .fold(R::zero(), |acc, c| acc.mul(s).add(c))
    }
}

impl<R: Ring> Ring for Poly<R> {
    fn zero() -> Self {
        Poly(vec![R::zero()])
    }
    fn one() -> Self {
        Poly(vec![R::one()])
    }
    fn from_bigint(n: &BigInt) -> Self {
        Poly(vec![R::from_bigint(n)])
    }
    fn add(&self, o: &Self) -> Self {
        let len = self.0.len().max(o.0.len());
        Poly((0..len).map(|k| self.coeff(k).add(&o.coeff(k))).collect()).trimmed()
    }
    fn sub(&self, o: &Self) -> Self {
        let len = self.0.len().max(o.0.len());
        Poly((0..len).map(|k| self.coeff(k).sub(&o.coeff(k))).collect()).trimmed()
    }
    fn mul(&self, o: &Self) -> Self {
        if self.is_zero() || o.is_zero() {
            return Self::zero();
        }
        let mut out = vec![R::zero(); self.0.len() + o.0.len() - 1];
        for (i, a) in self.0.iter().enumerate() {
            if a.is_zero() {
                continue;
            }
            for (j, b) in o.0.iter().enumerate() {
                out[i + j].add_mul(a, b);
            }
        }
        Poly(out).trimmed()
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|c| c.is_zero())
    }
    /// In place, without the temporaries of `self.add(&a.mul(b))` (the inner loop of the density
    /// polynomial's convolution).
    fn add_mul(&mut self, a: &Self, b: &Self) {
        if a.is_zero() || b.is_zero() {
            return;
        }
        let len = a.0.len() + b.0.len() - 1;
        if self.0.len() < len {
            self.0.resize(len, R::zero());
        }
        for (i, x) in a.0.iter().enumerate() {
            if x.is_zero() {
                continue;
            }
            for (j, y) in b.0.iter().enumerate() {
                self.0[i + j].add_mul(x, y);
            }
        }
        let trimmed = std::mem::take(&mut self.0);
        *self = Poly(trimmed).trimmed();
    }
}

// ---------------------------------------------------------------- helpers ------------------

/// `k!` as a big integer.
pub fn factorial(k: u32) -> BigInt {
    (1..=k).fold(BigInt::from(1), |acc, i| acc * BigInt::from(i))
}

/// Binomial coefficient `C(n, k)`.
pub fn binomial(n: u32, k: u32) -> BigInt {
    if k > n {
        return BigInt::from(0);
    }
    let k = k.min(n - k);
    let mut acc = BigInt::from(1);
    for i in 0..k {
        acc = acc * BigInt::from(n - i) / BigInt::from(i + 1);
    }
    acc
}

/// Least common multiple of the denominators.
pub fn common_denominator<'a>(qs: impl IntoIterator<Item = &'a BigRational>) -> BigInt {
    qs.into_iter().fold(BigInt::from(1), |acc, q| {
        if acc.is_multiple_of(q.denom()) {
            acc
        } else {
            acc.lcm(q.denom())
        }
    })
}

/// Nearest `f64` to a rational (correct to within an ulp; exact for dyadic values in range).
pub fn rational_to_f64(q: &BigRational) -> f64 {
    if let Some(f) = ToPrimitive::to_f64(q) {
        return f;
    }
    // Fallback for magnitudes outside the direct conversion: scale by powers of two.
    let (n, d) = (q.numer(), q.denom());
    let shift = n.bits() as i64 - d.bits() as i64;
    let scaled = if shift > 0 {
        BigRational::new(n.clone(), d << (shift as usize))
    } else {
        BigRational::new(n << ((-shift) as usize), d.clone())
    };
    ToPrimitive::to_f64(&scaled).unwrap_or(f64::NAN) * 2f64.powi(shift.clamp(-2000, 2000) as i32)
}

/// Longest number text [`parse_rational`] accepts (a guard against hostile input).
pub const MAX_NUMBER_CHARS: usize = 4096;
/// Largest decimal exponent magnitude [`parse_rational`] accepts.
pub const MAX_EXPONENT: i64 = 4096;

/// Parses a rational exactly: an integer `"-3"`, a fraction `"-3/7"`, or a decimal with an
/// optional exponent `"0.01"`, `"1.5e-3"` (read exactly as `1/100`, `3/2000`).
pub fn parse_rational(text: &str) -> Result<BigRational, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty number".into());
    }
    if t.len() > MAX_NUMBER_CHARS {
        return Err(format!(
            "number has {} characters; at most {MAX_NUMBER_CHARS} are accepted",
            t.len()
        ));
    }
    if let Some((a, b)) = t.split_once('/') {
        let num = parse_integer(a).map_err(|e| format!("numerator of {t:?}: {e}"))?;
        let den = parse_integer(b).map_err(|e| format!("denominator of {t:?}: {e}"))?;
        if num_traits::Zero::is_zero(&den) {
            return Err(format!("zero denominator in {t:?}"));
        }
        return Ok(BigRational::new(num, den));
    }
    parse_decimal(t)
}

fn parse_integer(t: &str) -> Result<BigInt, String> {
    let t = t.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{t:?} is not an integer"));
    }
    t.parse::<BigInt>().map_err(|e| format!("{t:?}: {e}"))
}

fn parse_decimal(t: &str) -> Result<BigRational, String> {
    let bad = || format!("{t:?} is not a number (expected e.g. 3, -3/7, 0.01 or 1e-3)");
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => {
            let e: i64 = t[i + 1..].parse().map_err(|_| bad())?;
            if e.abs() > MAX_EXPONENT {
                return Err(format!(
                    "exponent of {t:?} is out of range (|e| <= {MAX_EXPONENT})"
                ));
            }
            (&t[..i], e)
        }
        None => (t, 0),
    };
    let (negative, body) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let digits = format!("{int_part}{frac_part}");
    let scale = exponent - frac_part.len() as i64;
    // The usual JSON decimal: numerator and `10^k` fit in `u64`, reduced by a `u64` gcd.
    if digits.len() <= 18 && (-18..0).contains(&scale) {
        let n: u64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad())?
        };
        let den = 10u64.pow((-scale) as u32);
        let g = n.gcd(&den);
        let num = BigInt::from(n / g);
        return Ok(BigRational::new_raw(
            if negative { -num } else { num },
            BigInt::from(den / g),
        ));
    }
    let mut num: BigInt = if digits.is_empty() {
        BigInt::from(0)
    } else {
        digits.parse().map_err(|_| bad())?
    };
    if negative {
        num = -num;
    }
    let ten = BigInt::from(10);
    Ok(if scale >= 0 {
        BigRational::from_integer(num * num_traits::pow(ten, scale as usize))
    } else {
        BigRational::new(num, num_traits::pow(ten, (-scale) as usize))
    })
}

/// The exact value as `"a/b"` (or `"a"` for an integer), the form every report uses.
pub fn fmt_exact(q: &BigRational) -> String {
    q.to_string()
}

/// A short decimal for reports: up to 12 significant digits.
pub fn fmt_decimal(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-4..1e9).contains(&a) {
        let digits = (11 - a.log10().floor() as i32).clamp(0, 16) as usize;
        let s = format!("{x:.digits$}");

        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.11e}")
    }
}

/// A short decimal of an exact value for reports, computed from the rational itself (so it is
/// right for magnitudes far outside `f64`): 12 significant digits, rounded half away from zero;
/// fixed notation for `1e-4 <= |q| < 1e9` (trailing zeros trimmed), else `d.ddddddddddde<exp>`,
/// e.g. `1e4096` gives `"1.00000000000e4096"`. Agrees with [`fmt_decimal`] of the nearest `f64`
/// wherever that is finite and normal (up to the last digit on ties).
pub fn fmt_decimal_exact(q: &BigRational) -> String {
    use num_traits::Signed;
    if num_traits::Zero::is_zero(q) {
        return "0".into();
    }
    const DIGITS: i64 = 12;
    let negative = q.is_negative();
    let a = q.abs();
    let (num, den) = (a.numer(), a.denom());
    let ten = BigInt::from(10);
    // Estimate e = floor(log10 |q|) from the bit lengths (off by at most one), then correct.
    let log2 = num.bits() as f64 - den.bits() as f64;
    let mut e = (log2 * std::f64::consts::LOG10_2).floor() as i64;
    // N = round(|q| 10^{DIGITS-1-e}), with 10^{DIGITS-1} <= N < 10^DIGITS after correction.
    let scaled = |e: i64| -> BigInt {
        let k = DIGITS - 1 - e;
        let (n, d) = if k >= 0 {
            (num * num_traits::pow(ten.clone(), k as usize), den.clone())
        } else {
            (
                num.clone(),
                den * num_traits::pow(ten.clone(), (-k) as usize),
            )
        };
        // round half away from zero (both positive)
        (n * 2u32 + &d) / (d * 2u32)
    };
    let lo = num_traits::pow(ten.clone(), (DIGITS - 1) as usize);
    let hi = &lo * &ten;
    let mut n = scaled(e);
    for _ in 0..4 {
        if n >= hi {
            e += 1;
        } else if n < lo {
            e -= 1;
        } else {
            break;
        }
        n = scaled(e);
    }
    if n >= hi {
        // rounding carried into a new digit (e.g. 9.999999999999 -> 10.0000000000)
        n = lo.clone();
        e += 1;
    }
    let digits = n.to_string();
    let sign = if negative { "-" } else { "" };
    if (-4..9).contains(&e) {
        let s = if e >= 0 {
            let (int, frac) = digits.split_at(e as usize + 1);
            format!("{int}.{frac}")
        } else {
            format!("0.{}{digits}", "0".repeat((-e - 1) as usize))
        };
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{sign}{s}")
    } else {
        format!("{sign}{}.{}e{e}", &digits[..1], &digits[1..])
    }
}

/// `q` rounded to the nearest multiple of `1/den` (ties away from zero).
pub fn round_to_denominator(q: &BigRational, den: &BigInt) -> BigRational {
    let scaled = q * BigRational::from_integer(den.clone());
    BigRational::new(scaled.round().to_integer(), den.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_rational("0.01").unwrap(), q(1, 100));
        assert_eq!(parse_rational("-3/7").unwrap(), q(-3, 7));
        assert_eq!(parse_rational("1.5e-3").unwrap(), q(3, 2000));
        assert_eq!(parse_rational("2E2").unwrap(), q(200, 1));
        assert_eq!(parse_rational(".5").unwrap(), q(1, 2));
        assert_eq!(parse_rational("7").unwrap(), q(7, 1));
        for bad in [
            "", "1/0", "abc", "1e99999", "--1", "1.2.3", "nan", "inf", "1/x", ".",
        ] {
            assert!(parse_rational(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn f64_is_dyadic() {
        let x = 0.1f64;
        let r = x.to_rational().unwrap();
        assert_eq!(
            r,
            BigRational::new(3602879701896397u64.into(), BigInt::from(1u64 << 55))
        );
        assert!(f64::NAN.to_rational().is_none());
    }

    #[test]
    fn polynomials_multiply() {
        let s = Poly::<BigInt>::var();
        let one_minus = Poly::<BigInt>::one().sub(&s);
        let sq = one_minus.mul(&one_minus);
        assert_eq!(sq.0, vec![1.into(), (-2).into(), 1.into()]);
        assert_eq!(sq.degree(), Some(2));
    }

    #[test]
    fn exact_decimals() {
        let big = parse_rational("1e4096").unwrap();
        assert_eq!(fmt_decimal_exact(&big), "1.00000000000e4096");
        assert_eq!(fmt_decimal_exact(&-big.recip()), "-1.00000000000e-4096");
        assert_eq!(fmt_decimal_exact(&q(1, 3)), "0.333333333333");
        assert_eq!(fmt_decimal_exact(&q(2, 3)), "0.666666666667");
        assert_eq!(fmt_decimal_exact(&q(-7, 2)), "-3.5");
        assert_eq!(fmt_decimal_exact(&q(0, 1)), "0");
        assert_eq!(fmt_decimal_exact(&q(1, 100000)), "1.00000000000e-5");
        assert_eq!(
            fmt_decimal_exact(&q(9_999_999_999_999, 10)),
            "1.00000000000e12"
        );
        for x in [0.1, 123.456, 1e-3, 98765.4321, 1e20, 3e-7, 0.25] {
            let r = x.to_rational().unwrap();
            assert_eq!(fmt_decimal_exact(&r), fmt_decimal(x), "{x}");
        }
    }

    #[test]
    fn binomials_and_factorials() {
        assert_eq!(binomial(6, 3), 20.into());
        assert_eq!(binomial(3, 5), 0.into());
        assert_eq!(factorial(6), 720.into());
    }
}
