/**
 * CRC-32 as ZIP uses it (ISO-HDLC: reflected polynomial 0xEDB88320, initial value and final XOR
 * 0xFFFFFFFF), computed eight bytes at a time with eight lookup tables ("slicing-by-8"), which is
 * several times faster than one table when checking members of hundreds of megabytes.
 */

const POLYNOMIAL = 0xedb88320;

/** Table k maps a byte to the CRC contribution of that byte followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let remainder = byte;
    for (let bit = 0; bit < 8; bit++) remainder = remainder & 1 ? (remainder >>> 1) ^ POLYNOMIAL : remainder >>> 1;
    tables[byte] = remainder;
  }
  for (let table = 1; table < 8; table++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = tables[(table - 1) * 256 + byte]!;
      tables[table * 256 + byte] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
}

/**
 * CRC-32 of `bytes`. Pass the result of an earlier call as `previous` to continue a checksum over
 * data that arrives in pieces.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const tables = TABLES;
  let crc = ~previous;
  let index = 0;
  const fastEnd = bytes.length - (bytes.length % 8);
  while (index < fastEnd) {
    const low = crc ^ (bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) | (bytes[index + 3]! << 24));
    crc =
      tables[7 * 256 + (low & 0xff)]! ^
      tables[6 * 256 + ((low >>> 8) & 0xff)]! ^
      tables[5 * 256 + ((low >>> 16) & 0xff)]! ^
      tables[4 * 256 + (low >>> 24)]! ^
      tables[3 * 256 + bytes[index + 4]!]! ^
      tables[2 * 256 + bytes[index + 5]!]! ^
      tables[256 + bytes[index + 6]!]! ^
      tables[bytes[index + 7]!]!;
    index += 8;
  }
  while (index < bytes.length) {
    crc = tables[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
    index++;
  }
  return ~crc >>> 0;
}
