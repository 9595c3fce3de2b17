// q8: y[i, r] = Σ_c W[r, c] · x[i, c], with W stored in Q8_0 (a linear layer,
// weights [out, in]), dequantized on the fly: W[r, c] = q[r, c] · d[r, c / 32].
//
// Bindings (group 0):
//   0  params : uniform     (rows R, cols C, padded cols Cp, batch m, first row r0, accumulate)
//   1  quants : array<u32>  read   [R, Cp / 4]   four i8 per word, little-endian
//   2  scales : array<f32>  read   [R, Cp / 32]
//   3  x      : array<f32>  read   [m, C]
//   4  y      : array<f32>  write  [m, R]
//
// WG is an override from compute/src/kernels/q8.rs (16).
//
// gemv_q8 (m = 1, decoding): y[r] = W[r0 + r, :] · x for r < R, so a step
//   that needs only some rows (an autoregressive model's next pixel) reads
//   only those. One workgroup of WG² invocations per output row;
//   invocation j takes blocks j, j + WG², … of the row. Each 32-bit load
//   brings four weights, dotted with four x values as vec4s, so every weight
//   byte is read exactly once. A tree reduction in workgroup memory (WG² · 4
//   bytes = 1 KiB) sums the partials. Rows wrap into y past 65535.
// gemv_q8_short (m = 1, short rows): one invocation per output row, WG²
//   rows per workgroup, each summing its row's blocks in order. When C is
//   small (chapter 2's rows have 64 to 512 weights) a 256-invocation
//   workgroup per row costs far more than the row, above all on software
//   GPUs. Rows wrap into y past 65535 workgroups.
// gemm_q8 (m > 1): WG × WG invocations compute a WG × WG tile of y (batch
//   rows × output rows), walking C one Q8 block (32) at a time through
//   workgroup tiles of x and dequantized W: 2 · WG · 32 · 4 bytes = 4 KiB.
//   Dispatch: (ceil(R / WG), ceil(m / WG), 1).
// q8_backward (training): the gradient at a frozen layer's input,
//   y[i, c] = Σ_r x[i, r] · W[r, c], with x the gradient at its output
//   [m, R] and y [m, C] (added to y's values when accumulate is 1). WG × WG
//   invocations compute a WG × WG tile of y, walking R a tile at a time
//   through workgroup tiles of x and dequantized W.
//   Dispatch: (ceil(C / WG), ceil(m / WG), 1).
//
// x is read only below C: a pooled x buffer may hold garbage past C, and
// garbage · 0 can be NaN.

override WG: u32;

struct Params {
    rows: u32,
    cols: u32,
    cp: u32,
    m: u32,
    r0: u32,
    accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> quants: array<u32>;
@group(0) @binding(2) var<storage, read> scales: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> scratch: array<f32, WG * WG>;
var<workgroup> x_tile: array<f32, WG * 32u>;
var<workgroup> w_tile: array<f32, WG * 32u>;

fn unpack_i8x4(word: u32) -> vec4<f32> {
    let w = bitcast<i32>(word);
    return vec4<f32>(
        f32(extractBits(w, 0u, 8u)),
        f32(extractBits(w, 8u, 8u)),
        f32(extractBits(w, 16u, 8u)),
        f32(extractBits(w, 24u, 8u)),
    );
}

// Row r's block b (32 weights) dotted with x, before the block's scale.
fn block_dot(r: u32, b: u32) -> f32 {
    let word0 = (r * p.cp + b * 32u) / 4u;
    var block_sum = 0.0;
    for (var w = 0u; w < 8u; w++) {
        let c0 = b * 32u + w * 4u;
        let q = unpack_i8x4(quants[word0 + w]);
        if (c0 + 3u < p.cols) {
            block_sum += dot(q, vec4<f32>(x[c0], x[c0 + 1u], x[c0 + 2u], x[c0 + 3u]));
        } else {
            for (var j = 0u; j < 4u; j++) {
                if (c0 + j < p.cols) {
                    block_sum += q[j] * x[c0 + j];
                }
            }
        }
    }
    return block_sum;
}

@compute @workgroup_size(WG * WG)
fn gemv_q8_short(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let out_row = gid.x + gid.y * groups.x * WG * WG;
    if (out_row >= p.rows) {
        return;
    }
    let r = p.r0 + out_row;
    let blocks = p.cp / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        acc += scales[r * blocks + b] * block_dot(r, b);
    }
    y[out_row] = acc;
}

@compute @workgroup_size(WG * WG)
fn gemv_q8(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
) {
    let out_row = wid.x + wid.y * groups.x;
    let lid = lid3.x;
    if (out_row >= p.rows) {
        return; // uniform across the workgroup
    }
    let r = p.r0 + out_row;
    let threads = WG * WG;
    let blocks = p.cp / 32u;
    var acc = 0.0;
    for (var b = lid; b < blocks; b += threads) {
        acc += scales[r * blocks + b] * block_dot(r, b);
    }
    scratch[lid] = acc;
    workgroupBarrier();
    for (var s = threads / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            scratch[lid] += scratch[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        y[out_row] = scratch[0];
    }
}

@compute @workgroup_size(WG, WG, 1)
fn gemm_q8(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let i0 = wid.y * WG;       // first batch row of the tile
    let r0 = wid.x * WG;       // first output row of the tile
    let tid = lid.y * WG + lid.x;
    let blocks = p.cp / 32u;
    var acc = 0.0;
    for (var b = 0u; b < blocks; b++) {
        // x tile: WG rows × 32 columns, WG² invocations, two values each.
        for (var e = tid; e < WG * 32u; e += WG * WG) {
            let i = i0 + e / 32u;
            let c = b * 32u + e % 32u;
            var v = 0.0;
            if (i < p.m && c < p.cols) {
                v = x[i * p.cols + c];
            }
            x_tile[e] = v;
        }
        // W tile: WG rows × 8 words, one word (four weights) per invocation.
        if (tid < WG * 8u) {
            let r = r0 + tid / 8u;
            let w = tid % 8u;
            var q = vec4<f32>();
            var d = 0.0;
            if (r < p.rows) {
                q = unpack_i8x4(quants[(r * p.cp + b * 32u) / 4u + w]);
                d = scales[r * blocks + b];
            }
            let o = (tid / 8u) * 32u + w * 4u;
            w_tile[o] = q.x * d;
            w_tile[o + 1u] = q.y * d;
            w_tile[o + 2u] = q.z * d;
            w_tile[o + 3u] = q.w * d;
        }
        workgroupBarrier();
        for (var j = 0u; j < 32u; j++) {
            acc += x_tile[lid.y * 32u + j] * w_tile[lid.x * 32u + j];
        }
        workgroupBarrier();
    }
    let i = i0 + lid.y;
    let r = r0 + lid.x;
    if (i < p.m && r < p.rows) {
        y[i * p.rows + r] = acc;
    }
}

// W[r, c], dequantized: quant byte r·Cp + c, scale (r·Cp + c) / 32.
fn weight_at(r: u32, c: u32) -> f32 {
    let idx = r * p.cp + c;
    let word = bitcast<i32>(quants[idx / 4u]);
    return f32(extractBits(word, (idx % 4u) * 8u, 8u)) * scales[idx / 32u];
}

@compute @workgroup_size(WG, WG)
fn q8_backward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let i = wid.y * WG + lid.y;
    let c = wid.x * WG + lid.x;
    var acc = 0.0;
    for (var r0 = 0u; r0 < p.rows; r0 += WG) {
        let xr = r0 + lid.x;
        x_tile[lid.y * WG + lid.x] = select(0.0, x[i * p.rows + xr], i < p.m && xr < p.rows);
        let wr = r0 + lid.y;
        w_tile[lid.y * WG + lid.x] = select(0.0, weight_at(wr, c), wr < p.rows && c < p.cols);
        workgroupBarrier();
        for (var t = 0u; t < WG; t++) {
            acc += x_tile[lid.y * WG + t] * w_tile[t * WG + lid.x];
        }
        workgroupBarrier();
    }
    if (i < p.m && c < p.cols) {
        let at = i * p.cols + c;
        var prior = 0.0;
        if (p.accumulate == 1u) {
            prior = y[at];
        }
        y[at] = prior + acc;
    }
}
