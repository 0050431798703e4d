/**
 * Linear-time ascending sort of floats: a least-significant-digit radix sort on their bit patterns.
 * The built-in typed-array sort is a comparison sort and dominated the time of `rocAuc` on a million
 * scores; this is about three times faster there.
 *
 * Bit patterns are mapped to unsigned keys that order as the floats do: a positive float gets its sign
 * bit set, a negative one has every bit flipped. -0 then sorts just before +0, which callers comparing
 * with `===` treat as one value anyway.
 */

// 11-bit digits (3 per 32-bit word): 2048 buckets keep the scatter's write positions in cache, which
// beats fewer passes with 16-bit digits.
const DIGIT_BITS = 11;
const BUCKET_COUNT = 1 << DIGIT_BITS;
const DIGIT_MASK = BUCKET_COUNT - 1;
const DIGIT_SHIFTS = [0, DIGIT_BITS, 2 * DIGIT_BITS] as const;
const SIGN_BIT = 0x80000000;

// Which 32-bit word of a float64 holds the sign and exponent depends on the platform's byte order.
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this length the built-in sort is as fast and needs no histograms. */
const RADIX_THRESHOLD = 2048;

/** Sorts `values` ascending in place, as the built-in sort does. No value may be NaN. */
export function sortAscending(values: Float32Array | Float64Array): void {
  if (values.length < RADIX_THRESHOLD) values.sort();
  else if (values instanceof Float32Array) sortFloat32(values);
  else sortFloat64(values);
}

function toKey(word: number): number {
  return word & SIGN_BIT ? ~word : word | SIGN_BIT;
}

function sortFloat32(values: Float32Array): void {
  const count = values.length;
  const words = new Uint32Array(values.buffer, values.byteOffset, count);
  const histograms = new Uint32Array(DIGIT_SHIFTS.length * BUCKET_COUNT);
  let source = new Uint32Array(count);
  for (let index = 0; index < count; index++) {
    const key = toKey(words[index] as number) >>> 0;
    source[index] = key;
    for (let digit = 0; digit < DIGIT_SHIFTS.length; digit++) {
      histograms[digit * BUCKET_COUNT + ((key >>> DIGIT_SHIFTS[digit]!) & DIGIT_MASK)]! += 1;
    }
  }

  let target = new Uint32Array(count);
  for (let digit = 0; digit < DIGIT_SHIFTS.length; digit++) {
    const base = digit * BUCKET_COUNT;
    if (!bucketCountsToOffsets(histograms, base, count)) continue;
    const shift = DIGIT_SHIFTS[digit]!;
    for (let index = 0; index < count; index++) {
      const key = source[index] as number;
      target[histograms[base + ((key >>> shift) & DIGIT_MASK)]!++] = key;
    }
    [source, target] = [target, source];
  }

  for (let index = 0; index < count; index++) {
    const key = source[index] as number;
    words[index] = key & SIGN_BIT ? key & ~SIGN_BIT : ~key;
  }
}

function sortFloat64(values: Float64Array): void {
  const count = values.length;
  // Each float64 is two 32-bit words, sorted as one 64-bit key: three digits of the low word, then
  // three of the high word.
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * count);
  const lowOffset = IS_LITTLE_ENDIAN ? 0 : 1;
  const highOffset = 1 - lowOffset;
  const digitsPerWord = DIGIT_SHIFTS.length;
  const histograms = new Uint32Array(2 * digitsPerWord * BUCKET_COUNT);
  let source = new Uint32Array(2 * count);
  for (let index = 0; index < count; index++) {
    const high = words[2 * index + highOffset] as number;
    // A negative float flips all 64 bits; a positive one only sets its sign bit.
    const low = (high & SIGN_BIT ? ~(words[2 * index + lowOffset] as number) : (words[2 * index + lowOffset] as number)) >>> 0;
    const highKey = toKey(high) >>> 0;
    source[2 * index + lowOffset] = low;
    source[2 * index + highOffset] = highKey;
    for (let digit = 0; digit < digitsPerWord; digit++) {
      const shift = DIGIT_SHIFTS[digit]!;
      histograms[digit * BUCKET_COUNT + ((low >>> shift) & DIGIT_MASK)]! += 1;
      histograms[(digitsPerWord + digit) * BUCKET_COUNT + ((highKey >>> shift) & DIGIT_MASK)]! += 1;
    }
  }

  let target = new Uint32Array(2 * count);
  for (let digit = 0; digit < 2 * digitsPerWord; digit++) {
    const base = digit * BUCKET_COUNT;
    if (!bucketCountsToOffsets(histograms, base, count)) continue;
    const wordOffset = digit < digitsPerWord ? lowOffset : highOffset;
    const shift = DIGIT_SHIFTS[digit % digitsPerWord]!;
    for (let index = 0; index < count; index++) {
      const destination = 2 * histograms[base + (((source[2 * index + wordOffset] as number) >>> shift) & DIGIT_MASK)]!++;
      target[destination] = source[2 * index] as number;
      target[destination + 1] = source[2 * index + 1] as number;
    }
    [source, target] = [target, source];
  }

  for (let index = 0; index < count; index++) {
    const low = source[2 * index + lowOffset] as number;
    const high = source[2 * index + highOffset] as number;
    const wasPositive = (high & SIGN_BIT) !== 0;
    words[2 * index + lowOffset] = wasPositive ? low : ~low;
    words[2 * index + highOffset] = wasPositive ? high & ~SIGN_BIT : ~high;
  }
}

/**
 * Turns one digit's bucket counts into each bucket's first output position, in place. Returns false
 * when every key falls into one bucket: the pass would move nothing and is skipped.
 */
function bucketCountsToOffsets(histograms: Uint32Array, base: number, count: number): boolean {
  let position = 0;
  for (let bucket = base; bucket < base + BUCKET_COUNT; bucket++) {
    const bucketCount = histograms[bucket] as number;
    if (bucketCount === count) return false;
    histograms[bucket] = position;
    position += bucketCount;
  }
  return true;
}

/**
 * The indices of `values` in ascending order of value (a stable argsort): the same radix sort on bit
 * patterns, moving each value's index with its key. No value may be NaN; -0 comes before +0, which
 * callers comparing with `===` treat as one value anyway.
 */
export function sortedOrder(values: Float32Array | Float64Array): Uint32Array {
  const count = values.length;
  let order = new Uint32Array(count);
  for (let index = 0; index < count; index++) order[index] = index;
  if (count < RADIX_THRESHOLD) {
    return order.sort((left, right) => {
      const leftValue = values[left] as number;
      const rightValue = values[right] as number;
      if (leftValue !== rightValue) return leftValue < rightValue ? -1 : 1;
      // -0 before +0, as the radix path orders them; otherwise ties keep their index order.
      if (leftValue === 0 && 1 / leftValue !== 1 / rightValue) return 1 / leftValue < 0 ? -1 : 1;
      return left - right;
    });
  }

  // Key words, least significant first: one for float32, low and high for float64.
  let keyWords: Uint32Array[];
  if (values instanceof Float32Array) {
    const words = new Uint32Array(values.buffer, values.byteOffset, count);
    const keys = new Uint32Array(count);
    for (let index = 0; index < count; index++) keys[index] = toKey(words[index] as number) >>> 0;
    keyWords = [keys];
  } else {
    const words = new Uint32Array(values.buffer, values.byteOffset, 2 * count);
    const lowOffset = IS_LITTLE_ENDIAN ? 0 : 1;
    const lowKeys = new Uint32Array(count);
    const highKeys = new Uint32Array(count);
    for (let index = 0; index < count; index++) {
      const high = words[2 * index + 1 - lowOffset] as number;
      const low = words[2 * index + lowOffset] as number;
      lowKeys[index] = (high & SIGN_BIT ? ~low : low) >>> 0;
      highKeys[index] = toKey(high) >>> 0;
    }
    keyWords = [lowKeys, highKeys];
  }

  const histogram = new Uint32Array(BUCKET_COUNT);
  let spareOrder = new Uint32Array(count);
  let spareKeys: Uint32Array = new Uint32Array(count);
  for (let word = 0; word < keyWords.length; word++) {
    let keys: Uint32Array = keyWords[word] as Uint32Array;
    // Only float64's low word has a word above it to carry along; it is moved with the order.
    let upper = keyWords[word + 1];
    let spareUpper: Uint32Array | undefined = upper === undefined ? undefined : new Uint32Array(count);
    for (const shift of DIGIT_SHIFTS) {
      histogram.fill(0);
      for (let index = 0; index < count; index++) histogram[((keys[index] as number) >>> shift) & DIGIT_MASK]! += 1;
      if (!bucketCountsToOffsets(histogram, 0, count)) continue;
      for (let index = 0; index < count; index++) {
        const key = keys[index] as number;
        const destination = histogram[(key >>> shift) & DIGIT_MASK]!++;
        spareOrder[destination] = order[index] as number;
        spareKeys[destination] = key;
        if (upper !== undefined) spareUpper![destination] = upper[index] as number;
      }
      [order, spareOrder] = [spareOrder, order];
      [keys, spareKeys] = [spareKeys, keys];
      if (upper !== undefined) [upper, spareUpper] = [spareUpper!, upper];
    }
    if (upper !== undefined) keyWords[word + 1] = upper;
  }
  return order;
}
