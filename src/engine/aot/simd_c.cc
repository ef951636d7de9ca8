// The C side of the SIMD lowering (simd_lower.h): one static function rs_<field> per "reglet_simd"
// import, written in portable C over a union of lanes (the compiler vectorises what it can at -O2;
// correctness is what matters here). Floats are only ever moved as bits or through C arithmetic,
// which on x86-64 (SSE) quiets NaNs the way WebAssembly allows; min/max and the rounding
// operations follow the WebAssembly rules explicitly. Little-endian hosts only, like wasm2c.
#include "engine/aot/simd_lower.h"

namespace reglet::engine::aot {

std::string_view simd_c_library() {
  return R"reglet_c(
#include <math.h>
typedef union {
  uint8_t u8[16]; int8_t i8[16]; uint16_t u16[8]; int16_t i16[8];
  uint32_t u32[4]; int32_t i32[4]; uint64_t u64[2]; int64_t i64[2];
  float f32[4]; double f64[2];
} rs_v128;

static inline rs_v128 rs_make(uint64_t lo, uint64_t hi) { rs_v128 v; v.u64[0] = lo; v.u64[1] = hi; return v; }
static inline rs_v128 rs_zero(void) { return rs_make(0, 0); }

/* Memory: explicit bounds checks (the lowering gives us the offset separately). */
static inline uint8_t* rs_addr(wasm_rt_memory_t* m, uint32_t addr, uint64_t offset, uint64_t n) {
  uint64_t ea = (uint64_t)addr + offset;
  if (ea + n > (uint64_t)m->size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  return m->data + ea;
}
static rs_v128 rs_v128_load(wasm_rt_memory_t* m, uint32_t a, uint64_t o) { rs_v128 r; memcpy(&r, rs_addr(m, a, o, 16), 16); return r; }
static void rs_v128_store(wasm_rt_memory_t* m, uint32_t a, rs_v128 v, uint64_t o) { memcpy(rs_addr(m, a, o, 16), &v, 16); }
#define RS_LOAD_EXTEND(name, src_t, dst, n) \
  static rs_v128 rs_##name(wasm_rt_memory_t* m, uint32_t a, uint64_t o) { \
    src_t s[n]; rs_v128 r; memcpy(s, rs_addr(m, a, o, 8), 8); \
    for (int i = 0; i < n; ++i) r.dst[i] = s[i]; return r; }
RS_LOAD_EXTEND(v128_load8x8_s, int8_t, i16, 8)
RS_LOAD_EXTEND(v128_load8x8_u, uint8_t, u16, 8)
RS_LOAD_EXTEND(v128_load16x4_s, int16_t, i32, 4)
RS_LOAD_EXTEND(v128_load16x4_u, uint16_t, u32, 4)
RS_LOAD_EXTEND(v128_load32x2_s, int32_t, i64, 2)
RS_LOAD_EXTEND(v128_load32x2_u, uint32_t, u64, 2)
#define RS_LOAD_SPLAT(name, t, lane, n) \
  static rs_v128 rs_##name(wasm_rt_memory_t* m, uint32_t a, uint64_t o) { \
    t s; rs_v128 r; memcpy(&s, rs_addr(m, a, o, sizeof(t)), sizeof(t)); \
    for (int i = 0; i < n; ++i) r.lane[i] = s; return r; }
RS_LOAD_SPLAT(v128_load8_splat, uint8_t, u8, 16)
RS_LOAD_SPLAT(v128_load16_splat, uint16_t, u16, 8)
RS_LOAD_SPLAT(v128_load32_splat, uint32_t, u32, 4)
RS_LOAD_SPLAT(v128_load64_splat, uint64_t, u64, 2)
static rs_v128 rs_v128_load32_zero(wasm_rt_memory_t* m, uint32_t a, uint64_t o) { rs_v128 r = rs_zero(); memcpy(&r.u32[0], rs_addr(m, a, o, 4), 4); return r; }
static rs_v128 rs_v128_load64_zero(wasm_rt_memory_t* m, uint32_t a, uint64_t o) { rs_v128 r = rs_zero(); memcpy(&r.u64[0], rs_addr(m, a, o, 8), 8); return r; }
#define RS_LANE_MEM(bits, lane) \
  static rs_v128 rs_v128_load##bits##_lane(wasm_rt_memory_t* m, uint32_t a, rs_v128 v, uint64_t o, uint32_t l) { \
    memcpy(&v.lane[l], rs_addr(m, a, o, bits / 8), bits / 8); return v; } \
  static void rs_v128_store##bits##_lane(wasm_rt_memory_t* m, uint32_t a, rs_v128 v, uint64_t o, uint32_t l) { \
    memcpy(rs_addr(m, a, o, bits / 8), &v.lane[l], bits / 8); }
RS_LANE_MEM(8, u8)
RS_LANE_MEM(16, u16)
RS_LANE_MEM(32, u32)
RS_LANE_MEM(64, u64)

/* Construction and lanes. */
static rs_v128 rs_v128_select(rs_v128 a, rs_v128 b, uint32_t c) { return c ? a : b; }
#define RS_SPLAT(name, arg_t, lane, n) \
  static rs_v128 rs_##name(arg_t x) { rs_v128 r; for (int i = 0; i < n; ++i) r.lane[i] = x; return r; }
RS_SPLAT(i8x16_splat, uint32_t, u8, 16)
RS_SPLAT(i16x8_splat, uint32_t, u16, 8)
RS_SPLAT(i32x4_splat, uint32_t, u32, 4)
RS_SPLAT(i64x2_splat, uint64_t, u64, 2)
RS_SPLAT(f32x4_splat, float, f32, 4)
RS_SPLAT(f64x2_splat, double, f64, 2)
static uint32_t rs_i8x16_extract_lane_s(rs_v128 v, uint32_t l) { return (uint32_t)(int32_t)v.i8[l]; }
static uint32_t rs_i8x16_extract_lane_u(rs_v128 v, uint32_t l) { return v.u8[l]; }
static uint32_t rs_i16x8_extract_lane_s(rs_v128 v, uint32_t l) { return (uint32_t)(int32_t)v.i16[l]; }
static uint32_t rs_i16x8_extract_lane_u(rs_v128 v, uint32_t l) { return v.u16[l]; }
static uint32_t rs_i32x4_extract_lane(rs_v128 v, uint32_t l) { return v.u32[l]; }
static uint64_t rs_i64x2_extract_lane(rs_v128 v, uint32_t l) { return v.u64[l]; }
static float rs_f32x4_extract_lane(rs_v128 v, uint32_t l) { return v.f32[l]; }
static double rs_f64x2_extract_lane(rs_v128 v, uint32_t l) { return v.f64[l]; }
static rs_v128 rs_i8x16_replace_lane(rs_v128 v, uint32_t x, uint32_t l) { v.u8[l] = (uint8_t)x; return v; }
static rs_v128 rs_i16x8_replace_lane(rs_v128 v, uint32_t x, uint32_t l) { v.u16[l] = (uint16_t)x; return v; }
static rs_v128 rs_i32x4_replace_lane(rs_v128 v, uint32_t x, uint32_t l) { v.u32[l] = x; return v; }
static rs_v128 rs_i64x2_replace_lane(rs_v128 v, uint64_t x, uint32_t l) { v.u64[l] = x; return v; }
static rs_v128 rs_f32x4_replace_lane(rs_v128 v, float x, uint32_t l) { v.f32[l] = x; return v; }
static rs_v128 rs_f64x2_replace_lane(rs_v128 v, double x, uint32_t l) { v.f64[l] = x; return v; }
static rs_v128 rs_i8x16_shuffle(rs_v128 a, rs_v128 b, uint64_t lo, uint64_t hi) {
  rs_v128 mask = rs_make(lo, hi), r;
  for (int i = 0; i < 16; ++i) { uint8_t k = mask.u8[i]; r.u8[i] = k < 16 ? a.u8[k] : b.u8[k & 15]; }
  return r;
}
static rs_v128 rs_i8x16_swizzle(rs_v128 a, rs_v128 s) {
  rs_v128 r; for (int i = 0; i < 16; ++i) r.u8[i] = s.u8[i] < 16 ? a.u8[s.u8[i]] : 0; return r;
}

/* Bitwise. */
static rs_v128 rs_v128_not(rs_v128 a) { return rs_make(~a.u64[0], ~a.u64[1]); }
static rs_v128 rs_v128_and(rs_v128 a, rs_v128 b) { return rs_make(a.u64[0] & b.u64[0], a.u64[1] & b.u64[1]); }
static rs_v128 rs_v128_andnot(rs_v128 a, rs_v128 b) { return rs_make(a.u64[0] & ~b.u64[0], a.u64[1] & ~b.u64[1]); }
static rs_v128 rs_v128_or(rs_v128 a, rs_v128 b) { return rs_make(a.u64[0] | b.u64[0], a.u64[1] | b.u64[1]); }
static rs_v128 rs_v128_xor(rs_v128 a, rs_v128 b) { return rs_make(a.u64[0] ^ b.u64[0], a.u64[1] ^ b.u64[1]); }
static rs_v128 rs_v128_bitselect(rs_v128 a, rs_v128 b, rs_v128 c) {
  return rs_make((a.u64[0] & c.u64[0]) | (b.u64[0] & ~c.u64[0]), (a.u64[1] & c.u64[1]) | (b.u64[1] & ~c.u64[1]));
}
static uint32_t rs_v128_any_true(rs_v128 a) { return (a.u64[0] | a.u64[1]) != 0; }

/* Lane-wise integer operations; `n` lanes of field `f`, computed in `w` (wide enough). */
#define RS_UN(name, f, n, expr) \
  static rs_v128 rs_##name(rs_v128 a) { rs_v128 r; for (int i = 0; i < n; ++i) { __typeof__(a.f[0]) x = a.f[i]; r.f[i] = (expr); } return r; }
#define RS_BIN(name, f, n, expr) \
  static rs_v128 rs_##name(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < n; ++i) { __typeof__(a.f[0]) x = a.f[i], y = b.f[i]; r.f[i] = (expr); } return r; }
#define RS_CMP(name, f, uf, n, expr) \
  static rs_v128 rs_##name(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < n; ++i) { __typeof__(a.f[0]) x = a.f[i], y = b.f[i]; r.uf[i] = (expr) ? (__typeof__(r.uf[0]))~0ull : 0; } return r; }
#define RS_SHIFT(name, f, n, bits, op) \
  static rs_v128 rs_##name(rs_v128 a, uint32_t s) { rs_v128 r; s &= bits - 1; for (int i = 0; i < n; ++i) r.f[i] = a.f[i] op s; return r; }
#define RS_ALL_TRUE(name, f, n) \
  static uint32_t rs_##name(rs_v128 a) { for (int i = 0; i < n; ++i) if (!a.f[i]) return 0; return 1; }
#define RS_BITMASK(name, f, n) \
  static uint32_t rs_##name(rs_v128 a) { uint32_t m = 0; for (int i = 0; i < n; ++i) if (a.f[i] < 0) m |= 1u << i; return m; }

#define RS_INT_FAMILY(p, s, u, n, bits, wide) \
  RS_BIN(p##_add, u, n, (__typeof__(x))((wide)x + (wide)y)) \
  RS_BIN(p##_sub, u, n, (__typeof__(x))((wide)x - (wide)y)) \
  RS_UN(p##_neg, u, n, (__typeof__(x))(0 - (wide)x)) \
  RS_CMP(p##_eq, u, u, n, x == y) \
  RS_CMP(p##_ne, u, u, n, x != y) \
  RS_CMP(p##_lt_s, s, u, n, x < y) \
  RS_CMP(p##_gt_s, s, u, n, x > y) \
  RS_CMP(p##_le_s, s, u, n, x <= y) \
  RS_CMP(p##_ge_s, s, u, n, x >= y) \
  RS_SHIFT(p##_shl, u, n, bits, <<) \
  RS_SHIFT(p##_shr_s, s, n, bits, >>) \
  RS_SHIFT(p##_shr_u, u, n, bits, >>) \
  RS_UN(p##_abs, s, n, x < 0 ? (__typeof__(x))(0 - (wide)x) : x) \
  RS_ALL_TRUE(p##_all_true, u, n) \
  RS_BITMASK(p##_bitmask, s, n)

RS_INT_FAMILY(i8x16, i8, u8, 16, 8, uint32_t)
RS_INT_FAMILY(i16x8, i16, u16, 8, 16, uint32_t)
RS_INT_FAMILY(i32x4, i32, u32, 4, 32, uint32_t)
RS_INT_FAMILY(i64x2, i64, u64, 2, 64, uint64_t)

#define RS_UNSIGNED_FAMILY(p, s, u, n) \
  RS_CMP(p##_lt_u, u, u, n, x < y) \
  RS_CMP(p##_gt_u, u, u, n, x > y) \
  RS_CMP(p##_le_u, u, u, n, x <= y) \
  RS_CMP(p##_ge_u, u, u, n, x >= y) \
  RS_BIN(p##_min_s, s, n, x < y ? x : y) \
  RS_BIN(p##_min_u, u, n, x < y ? x : y) \
  RS_BIN(p##_max_s, s, n, x > y ? x : y) \
  RS_BIN(p##_max_u, u, n, x > y ? x : y)

RS_UNSIGNED_FAMILY(i8x16, i8, u8, 16)
RS_UNSIGNED_FAMILY(i16x8, i16, u16, 8)
RS_UNSIGNED_FAMILY(i32x4, i32, u32, 4)

#define RS_SAT(v, lo, hi) ((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))
RS_BIN(i8x16_add_sat_s, i8, 16, (int8_t)RS_SAT((int32_t)x + y, -128, 127))
RS_BIN(i8x16_add_sat_u, u8, 16, (uint8_t)RS_SAT((int32_t)x + y, 0, 255))
RS_BIN(i8x16_sub_sat_s, i8, 16, (int8_t)RS_SAT((int32_t)x - y, -128, 127))
RS_BIN(i8x16_sub_sat_u, u8, 16, (uint8_t)RS_SAT((int32_t)x - y, 0, 255))
RS_BIN(i16x8_add_sat_s, i16, 8, (int16_t)RS_SAT((int32_t)x + y, -32768, 32767))
RS_BIN(i16x8_add_sat_u, u16, 8, (uint16_t)RS_SAT((int32_t)x + y, 0, 65535))
RS_BIN(i16x8_sub_sat_s, i16, 8, (int16_t)RS_SAT((int32_t)x - y, -32768, 32767))
RS_BIN(i16x8_sub_sat_u, u16, 8, (uint16_t)RS_SAT((int32_t)x - y, 0, 65535))
RS_BIN(i8x16_avgr_u, u8, 16, (uint8_t)(((uint32_t)x + y + 1) >> 1))
RS_BIN(i16x8_avgr_u, u16, 8, (uint16_t)(((uint32_t)x + y + 1) >> 1))
RS_BIN(i16x8_mul, u16, 8, (uint16_t)((uint32_t)x * (uint32_t)y))
RS_BIN(i32x4_mul, u32, 4, x * y)
RS_BIN(i64x2_mul, u64, 2, x * y)
RS_BIN(i16x8_q15mulr_sat_s, i16, 8, (int16_t)RS_SAT(((int32_t)x * y + 0x4000) >> 15, -32768, 32767))
RS_UN(i8x16_popcnt, u8, 16, (uint8_t)__builtin_popcount(x))

static rs_v128 rs_i8x16_narrow_i16x8_s(rs_v128 a, rs_v128 b) {
  rs_v128 r; for (int i = 0; i < 8; ++i) { r.i8[i] = (int8_t)RS_SAT(a.i16[i], -128, 127); r.i8[i + 8] = (int8_t)RS_SAT(b.i16[i], -128, 127); } return r;
}
static rs_v128 rs_i8x16_narrow_i16x8_u(rs_v128 a, rs_v128 b) {
  rs_v128 r; for (int i = 0; i < 8; ++i) { r.u8[i] = (uint8_t)RS_SAT(a.i16[i], 0, 255); r.u8[i + 8] = (uint8_t)RS_SAT(b.i16[i], 0, 255); } return r;
}
static rs_v128 rs_i16x8_narrow_i32x4_s(rs_v128 a, rs_v128 b) {
  rs_v128 r; for (int i = 0; i < 4; ++i) { r.i16[i] = (int16_t)RS_SAT(a.i32[i], -32768, 32767); r.i16[i + 4] = (int16_t)RS_SAT(b.i32[i], -32768, 32767); } return r;
}
static rs_v128 rs_i16x8_narrow_i32x4_u(rs_v128 a, rs_v128 b) {
  rs_v128 r; for (int i = 0; i < 4; ++i) { r.u16[i] = (uint16_t)RS_SAT(a.i32[i], 0, 65535); r.u16[i + 4] = (uint16_t)RS_SAT(b.i32[i], 0, 65535); } return r;
}

/* Widening: dst lanes (n of them) from src lanes starting at `from`. */
#define RS_EXTEND(name, dst, src, n, from) \
  static rs_v128 rs_##name(rs_v128 a) { rs_v128 r; for (int i = 0; i < n; ++i) r.dst[i] = a.src[i + from]; return r; }
RS_EXTEND(i16x8_extend_low_i8x16_s, i16, i8, 8, 0)
RS_EXTEND(i16x8_extend_high_i8x16_s, i16, i8, 8, 8)
RS_EXTEND(i16x8_extend_low_i8x16_u, u16, u8, 8, 0)
RS_EXTEND(i16x8_extend_high_i8x16_u, u16, u8, 8, 8)
RS_EXTEND(i32x4_extend_low_i16x8_s, i32, i16, 4, 0)
RS_EXTEND(i32x4_extend_high_i16x8_s, i32, i16, 4, 4)
RS_EXTEND(i32x4_extend_low_i16x8_u, u32, u16, 4, 0)
RS_EXTEND(i32x4_extend_high_i16x8_u, u32, u16, 4, 4)
RS_EXTEND(i64x2_extend_low_i32x4_s, i64, i32, 2, 0)
RS_EXTEND(i64x2_extend_high_i32x4_s, i64, i32, 2, 2)
RS_EXTEND(i64x2_extend_low_i32x4_u, u64, u32, 2, 0)
RS_EXTEND(i64x2_extend_high_i32x4_u, u64, u32, 2, 2)
#define RS_EXTMUL(name, dst, src, n, from, wide) \
  static rs_v128 rs_##name(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < n; ++i) r.dst[i] = (wide)a.src[i + from] * (wide)b.src[i + from]; return r; }
RS_EXTMUL(i16x8_extmul_low_i8x16_s, i16, i8, 8, 0, int32_t)
RS_EXTMUL(i16x8_extmul_high_i8x16_s, i16, i8, 8, 8, int32_t)
RS_EXTMUL(i16x8_extmul_low_i8x16_u, u16, u8, 8, 0, uint32_t)
RS_EXTMUL(i16x8_extmul_high_i8x16_u, u16, u8, 8, 8, uint32_t)
RS_EXTMUL(i32x4_extmul_low_i16x8_s, i32, i16, 4, 0, int32_t)
RS_EXTMUL(i32x4_extmul_high_i16x8_s, i32, i16, 4, 4, int32_t)
RS_EXTMUL(i32x4_extmul_low_i16x8_u, u32, u16, 4, 0, uint32_t)
RS_EXTMUL(i32x4_extmul_high_i16x8_u, u32, u16, 4, 4, uint32_t)
RS_EXTMUL(i64x2_extmul_low_i32x4_s, i64, i32, 2, 0, int64_t)
RS_EXTMUL(i64x2_extmul_high_i32x4_s, i64, i32, 2, 2, int64_t)
RS_EXTMUL(i64x2_extmul_low_i32x4_u, u64, u32, 2, 0, uint64_t)
RS_EXTMUL(i64x2_extmul_high_i32x4_u, u64, u32, 2, 2, uint64_t)
#define RS_EXTADD(name, dst, src, n, wide) \
  static rs_v128 rs_##name(rs_v128 a) { rs_v128 r; for (int i = 0; i < n; ++i) r.dst[i] = (wide)a.src[2 * i] + (wide)a.src[2 * i + 1]; return r; }
RS_EXTADD(i16x8_extadd_pairwise_i8x16_s, i16, i8, 8, int32_t)
RS_EXTADD(i16x8_extadd_pairwise_i8x16_u, u16, u8, 8, uint32_t)
RS_EXTADD(i32x4_extadd_pairwise_i16x8_s, i32, i16, 4, int32_t)
RS_EXTADD(i32x4_extadd_pairwise_i16x8_u, u32, u16, 4, uint32_t)
static rs_v128 rs_i32x4_dot_i16x8_s(rs_v128 a, rs_v128 b) {
  rs_v128 r;
  for (int i = 0; i < 4; ++i) {
    int64_t sum = (int64_t)a.i16[2 * i] * b.i16[2 * i] + (int64_t)a.i16[2 * i + 1] * b.i16[2 * i + 1];
    r.u32[i] = (uint32_t)sum;
  }
  return r;
}

/* Floating point. Sign operations on bits (no NaN is touched); the rest as WebAssembly says. */
RS_UN(f32x4_abs, u32, 4, x & 0x7fffffffu)
RS_UN(f32x4_neg, u32, 4, x ^ 0x80000000u)
RS_UN(f64x2_abs, u64, 2, x & 0x7fffffffffffffffull)
RS_UN(f64x2_neg, u64, 2, x ^ 0x8000000000000000ull)
RS_UN(f32x4_sqrt, f32, 4, sqrtf(x))
RS_UN(f64x2_sqrt, f64, 2, sqrt(x))
RS_UN(f32x4_ceil, f32, 4, ceilf(x))
RS_UN(f32x4_floor, f32, 4, floorf(x))
RS_UN(f32x4_trunc, f32, 4, truncf(x))
RS_UN(f32x4_nearest, f32, 4, nearbyintf(x))
RS_UN(f64x2_ceil, f64, 2, ceil(x))
RS_UN(f64x2_floor, f64, 2, floor(x))
RS_UN(f64x2_trunc, f64, 2, trunc(x))
RS_UN(f64x2_nearest, f64, 2, nearbyint(x))
RS_BIN(f32x4_add, f32, 4, x + y)
RS_BIN(f32x4_sub, f32, 4, x - y)
RS_BIN(f32x4_mul, f32, 4, x * y)
RS_BIN(f32x4_div, f32, 4, x / y)
RS_BIN(f64x2_add, f64, 2, x + y)
RS_BIN(f64x2_sub, f64, 2, x - y)
RS_BIN(f64x2_mul, f64, 2, x * y)
RS_BIN(f64x2_div, f64, 2, x / y)
/* min/max: a NaN operand gives a NaN (x + y quiets it); -0 is below +0. */
static float rs_fminf(float x, float y) {
  if (x != x || y != y) return x + y;
  if (x == y) { uint32_t a, b; memcpy(&a, &x, 4); memcpy(&b, &y, 4); a |= b; memcpy(&x, &a, 4); return x; }
  return x < y ? x : y;
}
static float rs_fmaxf(float x, float y) {
  if (x != x || y != y) return x + y;
  if (x == y) { uint32_t a, b; memcpy(&a, &x, 4); memcpy(&b, &y, 4); a &= b; memcpy(&x, &a, 4); return x; }
  return x > y ? x : y;
}
static double rs_fmin(double x, double y) {
  if (x != x || y != y) return x + y;
  if (x == y) { uint64_t a, b; memcpy(&a, &x, 8); memcpy(&b, &y, 8); a |= b; memcpy(&x, &a, 8); return x; }
  return x < y ? x : y;
}
static double rs_fmax(double x, double y) {
  if (x != x || y != y) return x + y;
  if (x == y) { uint64_t a, b; memcpy(&a, &x, 8); memcpy(&b, &y, 8); a &= b; memcpy(&x, &a, 8); return x; }
  return x > y ? x : y;
}
RS_BIN(f32x4_min, f32, 4, rs_fminf(x, y))
RS_BIN(f32x4_max, f32, 4, rs_fmaxf(x, y))
RS_BIN(f64x2_min, f64, 2, rs_fmin(x, y))
RS_BIN(f64x2_max, f64, 2, rs_fmax(x, y))
/* pmin/pmax are defined by a comparison alone: the first operand unless the other is smaller. */
static rs_v128 rs_f32x4_pmin(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < 4; ++i) r.u32[i] = b.f32[i] < a.f32[i] ? b.u32[i] : a.u32[i]; return r; }
static rs_v128 rs_f32x4_pmax(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < 4; ++i) r.u32[i] = a.f32[i] < b.f32[i] ? b.u32[i] : a.u32[i]; return r; }
static rs_v128 rs_f64x2_pmin(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < 2; ++i) r.u64[i] = b.f64[i] < a.f64[i] ? b.u64[i] : a.u64[i]; return r; }
static rs_v128 rs_f64x2_pmax(rs_v128 a, rs_v128 b) { rs_v128 r; for (int i = 0; i < 2; ++i) r.u64[i] = a.f64[i] < b.f64[i] ? b.u64[i] : a.u64[i]; return r; }
RS_CMP(f32x4_eq, f32, u32, 4, x == y)
RS_CMP(f32x4_ne, f32, u32, 4, x != y)
RS_CMP(f32x4_lt, f32, u32, 4, x < y)
RS_CMP(f32x4_gt, f32, u32, 4, x > y)
RS_CMP(f32x4_le, f32, u32, 4, x <= y)
RS_CMP(f32x4_ge, f32, u32, 4, x >= y)
RS_CMP(f64x2_eq, f64, u64, 2, x == y)
RS_CMP(f64x2_ne, f64, u64, 2, x != y)
RS_CMP(f64x2_lt, f64, u64, 2, x < y)
RS_CMP(f64x2_gt, f64, u64, 2, x > y)
RS_CMP(f64x2_le, f64, u64, 2, x <= y)
RS_CMP(f64x2_ge, f64, u64, 2, x >= y)

/* Conversions. Saturating truncation: NaN is 0, out of range clamps. */
static int32_t rs_sat_s32(double x) {
  if (x != x) return 0;
  if (x <= -2147483649.0) return INT32_MIN;
  if (x >= 2147483648.0) return INT32_MAX;
  return (int32_t)x;
}
static uint32_t rs_sat_u32(double x) {
  if (x != x || x <= -1.0) return 0;
  if (x >= 4294967296.0) return UINT32_MAX;
  return (uint32_t)x;
}
static rs_v128 rs_i32x4_trunc_sat_f32x4_s(rs_v128 a) { rs_v128 r; for (int i = 0; i < 4; ++i) r.i32[i] = rs_sat_s32(a.f32[i]); return r; }
static rs_v128 rs_i32x4_trunc_sat_f32x4_u(rs_v128 a) { rs_v128 r; for (int i = 0; i < 4; ++i) r.u32[i] = rs_sat_u32(a.f32[i]); return r; }
static rs_v128 rs_i32x4_trunc_sat_f64x2_s_zero(rs_v128 a) { rs_v128 r = rs_zero(); for (int i = 0; i < 2; ++i) r.i32[i] = rs_sat_s32(a.f64[i]); return r; }
static rs_v128 rs_i32x4_trunc_sat_f64x2_u_zero(rs_v128 a) { rs_v128 r = rs_zero(); for (int i = 0; i < 2; ++i) r.u32[i] = rs_sat_u32(a.f64[i]); return r; }
static rs_v128 rs_f32x4_convert_i32x4_s(rs_v128 a) { rs_v128 r; for (int i = 0; i < 4; ++i) r.f32[i] = (float)a.i32[i]; return r; }
static rs_v128 rs_f32x4_convert_i32x4_u(rs_v128 a) { rs_v128 r; for (int i = 0; i < 4; ++i) r.f32[i] = (float)a.u32[i]; return r; }
static rs_v128 rs_f64x2_convert_low_i32x4_s(rs_v128 a) { rs_v128 r; for (int i = 0; i < 2; ++i) r.f64[i] = (double)a.i32[i]; return r; }
static rs_v128 rs_f64x2_convert_low_i32x4_u(rs_v128 a) { rs_v128 r; for (int i = 0; i < 2; ++i) r.f64[i] = (double)a.u32[i]; return r; }
static rs_v128 rs_f32x4_demote_f64x2_zero(rs_v128 a) { rs_v128 r = rs_zero(); for (int i = 0; i < 2; ++i) r.f32[i] = (float)a.f64[i]; return r; }
static rs_v128 rs_f64x2_promote_low_f32x4(rs_v128 a) { rs_v128 r; for (int i = 0; i < 2; ++i) r.f64[i] = (double)a.f32[i]; return r; }
)reglet_c";
}

}  // namespace reglet::engine::aot
