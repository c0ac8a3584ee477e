#!/usr/bin/env python3
"""Makes s3rver's PUT atomic, as S3's is, so tests can rely on the S3 contract.

s3rver 3.7.1 answers a PUT before the object's file is even opened, and writes it in place: a
GET or LIST right after a successful PUT may miss the object or see part of it, and an upload
cut short by the client is stored as a short object. This rewrites FilesystemStore.putObject to
write a temporary file, refuse a body shorter than its Content-Length, and rename the file into
place only when complete. Idempotent; fails loudly if the code to replace is not found.
Usage: patch-s3rver.py PATH/TO/node_modules/s3rver/lib/stores/filesystem.js
"""
import sys

MARK = "// strata: atomic put"
path = sys.argv[1]
source = open(path, encoding="utf-8").read()
if MARK in source:
    sys.exit(0)

start = source.index("    await fs.mkdirp(path.dirname(objectPath));\n\n    const [size, md5] = await new Promise(")
end_marker = "    await this.putMetadata(object.bucket, object.key, object.metadata, md5);\n"
end = source.index(end_marker, start) + len(end_marker)

replacement = """    await fs.mkdirp(path.dirname(objectPath));
    """ + MARK + """: temporary file, length check, rename into place when complete
    const tempPath = `${objectPath}.${process.pid}.${crypto.randomBytes(8).toString('hex')}.tmp`;
    const headers = object.content && object.content.headers;
    // aws-chunked uploads (streaming SigV4, as minio-go and so restic send them) are decoded as S3 does.
    const streaming = !!headers && String(headers['x-amz-content-sha256'] || '').startsWith('STREAMING-');
    const expected = !headers ? NaN : streaming ? Number(headers['x-amz-decoded-content-length']) : object.size;
    if (streaming && object.metadata['content-encoding']) {
      const rest = object.metadata['content-encoding'].split(',').map(e => e.trim()).filter(e => e && e !== 'aws-chunked');
      if (rest.length) object.metadata['content-encoding'] = rest.join(','); else delete object.metadata['content-encoding'];
    }
    let size, md5;
    try {
      [size, md5] = await new Promise((resolve, reject) => {
        const writeStream = fs.createWriteStream(tempPath);
        const md5Context = crypto.createHash('md5');
        let totalLength = 0;
        writeStream.on('error', reject);
        writeStream.on('finish', () => {
          if (Number.isFinite(expected) && totalLength !== expected) {
            reject(new Error(`incomplete body: ${totalLength} of ${expected} bytes`));
          } else {
            resolve([totalLength, md5Context.digest('hex')]);
          }
        });
        if (Buffer.isBuffer(object.content)) {
          md5Context.update(object.content);
          totalLength = object.content.length;
          writeStream.end(object.content);
        } else {
          object.content.on('error', reject);
          object.content.on('aborted', () => reject(new Error('request aborted')));
          (streaming ? object.content.pipe(awsChunkedDecoder()).on('error', reject) : object.content)
            .pipe(
              new Transform({
                transform(chunk, encoding, callback) {
                  md5Context.update(chunk, encoding);
                  totalLength += chunk.length;
                  callback(null, chunk);
                },
              }),
            )
            .on('error', reject)
            .pipe(writeStream);
        }
      });
      // Writers of one key take turns for the metadata and the rename, so the stored MD5 is the object's.
      const previous = keyLocks.get(objectPath) || Promise.resolve();
      let release;
      const turn = previous.then(() => new Promise(resolve => { release = resolve; }));
      keyLocks.set(objectPath, turn);
      await previous;
      try {
        await this.putMetadata(object.bucket, object.key, object.metadata, md5);
        await fs.rename(tempPath, objectPath);
      } finally {
        release();
        if (keyLocks.get(objectPath) === turn) keyLocks.delete(objectPath);
      }
    } catch (err) {
      await fs.remove(tempPath);
      throw err;
    }
"""
patched = source[:start] + replacement + source[end:]
anchor = "const crypto = require('crypto');\n"
DECODER = """
// strata: decodes an aws-chunked body ("<hex size>;chunk-signature=...\\r\\n<data>\\r\\n" ... "0;...")
function awsChunkedDecoder() {
  let buffer = Buffer.alloc(0);
  let remaining = -1;
  let done = false;
  return new Transform({
    transform(chunk, encoding, callback) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      while (!done) {
        if (remaining < 0) {
          const eol = buffer.indexOf('\\r\\n');
          if (eol < 0) break;
          const size = parseInt(buffer.slice(0, eol).toString('latin1').split(';')[0], 16);
          if (Number.isNaN(size)) return callback(new Error('malformed aws-chunked body'));
          buffer = buffer.slice(eol + 2);
          if (size === 0) { done = true; break; }
          remaining = size;
        }
        if (buffer.length < remaining + 2) break;
        this.push(buffer.slice(0, remaining));
        buffer = buffer.slice(remaining + 2);
        remaining = -1;
      }
      callback();
    },
    flush(callback) {
      callback(done ? null : new Error('aws-chunked body ended early'));
    },
  });
}
"""
patched = patched.replace(anchor, anchor + "const keyLocks = new Map(); " + MARK + "\n", 1)
patched = patched.replace("class FilesystemStore", DECODER + "\nclass FilesystemStore", 1)
if "function awsChunkedDecoder" not in patched:
    sys.exit("patch-s3rver: could not place the aws-chunked decoder")
open(path, "w", encoding="utf-8").write(patched)
