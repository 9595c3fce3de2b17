// rope: rotary position embedding in two layouts.
// rope_neox, the non-interleaved layout candle's `rope` uses: within each
// head, element i pairs with i + d/2.
//
//   out[t, h, i]       = x[t, h, i] · cos[p, i] − x[t, h, i + d/2] · sin[p, i]
//   out[t, h, i + d/2] = x[t, h, i] · sin[p, i] + x[t, h, i + d/2] · cos[p, i]
//   with p = pos0 + t and i < d/2.
//
// rope_interleaved, Meta's LLaMA layout: consecutive elements 2i and 2i + 1
// form the pair, rotated by the same angle as pair i above.
//
// Bindings (group 0):
//   0  params : uniform     (tokens, heads, head_dim, pos0)
//   1  x      : array<f32>  read   [tokens, heads, head_dim]
//   2  cos    : array<f32>  read   [max_pos, head_dim / 2]
//   3  sin    : array<f32>  read   [max_pos, head_dim / 2]
//   4  out    : array<f32>  write  [tokens, heads, head_dim]
//
// The cos/sin tables are computed once on the host in f64, so the GPU and
// the CPU reference rotate by bit-identical angles.
// Workgroup: WG invocations (override; 256), one rotated pair each.

override WG: u32;

struct Params {
    tokens: u32,
    heads: u32,
    head_dim: u32,
    pos0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cos_table: array<f32>;
@group(0) @binding(3) var<storage, read> sin_table: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn rope_neox(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let half = p.head_dim / 2u;
    let pair = gid.x + gid.y * groups.x * WG;
    if (pair >= p.tokens * p.heads * half) {
        return;
    }
    let i = pair % half;
    let head_row = pair / half;              // t · heads + h
    let t = head_row / p.heads;
    let base = head_row * p.head_dim;
    let c = cos_table[(p.pos0 + t) * half + i];
    let s = sin_table[(p.pos0 + t) * half + i];
    let x1 = x[base + i];
    let x2 = x[base + i + half];
    out[base + i] = x1 * c - x2 * s;
    out[base + i + half] = x1 * s + x2 * c;
}

@compute @workgroup_size(WG)
fn rope_interleaved(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let half = p.head_dim / 2u;
    let pair = gid.x + gid.y * groups.x * WG;
    if (pair >= p.tokens * p.heads * half) {
        return;
    }
    let i = pair % half;
    let head_row = pair / half;
    let t = head_row / p.heads;
    let at = head_row * p.head_dim + 2u * i;
    let c = cos_table[(p.pos0 + t) * half + i];
    let s = sin_table[(p.pos0 + t) * half + i];
    let x1 = x[at];
    let x2 = x[at + 1u];
    out[at] = x1 * c - x2 * s;
    out[at + 1u] = x1 * s + x2 * c;
}
