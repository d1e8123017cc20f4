"""The flow of a typical boto3 guide, run against the gateway; exits non-zero on the first mismatch."""
import hashlib
import os
import subprocess
import sys
import tempfile

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["ENDPOINT"]
BUCKET = os.environ.get("BUCKET", "boto3-flow")
s3 = boto3.client(
    "s3",
    endpoint_url=ENDPOINT,
    aws_access_key_id=os.environ["ACCESS_KEY"],
    aws_secret_access_key=os.environ["SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}),
)
print("boto3", boto3.__version__, "botocore", botocore.__version__)


def error_code(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{fn.__name__} should have failed")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok -", what)


tmp = tempfile.mkdtemp()
small = os.path.join(tmp, "small.txt")
big = os.path.join(tmp, "big.bin")
with open(small, "wb") as f:
    f.write(b"hello from boto3\n")
with open(big, "wb") as f:
    f.write(os.urandom(20 * 1024 * 1024 + 123))

s3.create_bucket(Bucket=BUCKET)
check(error_code(s3.create_bucket, Bucket=BUCKET) == "BucketAlreadyOwnedByYou", "second create answers BucketAlreadyOwnedByYou")
check(BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]], "list_buckets shows the bucket")

s3.upload_file(small, BUCKET, "docs/small.txt")
s3.upload_file(big, BUCKET, "data/big.bin")  # above the 8 MiB threshold: a managed multipart upload
out = os.path.join(tmp, "back.bin")
s3.download_file(BUCKET, "data/big.bin", out)
check(open(out, "rb").read() == open(big, "rb").read(), "download_file returns the uploaded bytes (20 MiB, multipart)")
s3.download_file(BUCKET, "docs/small.txt", out)
check(open(out, "rb").read() == b"hello from boto3\n", "download_file returns the small file")

listing = s3.list_objects_v2(Bucket=BUCKET)
check([(o["Key"], o["Size"]) for o in listing["Contents"]] == [("data/big.bin", 20 * 1024 * 1024 + 123), ("docs/small.txt", 17)], "list_objects_v2 lists keys with sizes")

url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "docs/small.txt"}, ExpiresIn=300)
got = subprocess.run(["curl", "-sf", url], capture_output=True, check=True).stdout
check(got == b"hello from boto3\n", "presigned GET fetched with curl")

url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "uploads/via-curl.txt"}, ExpiresIn=300)
subprocess.run(["curl", "-sf", "-X", "PUT", "--upload-file", small, url], check=True, capture_output=True)
check(s3.get_object(Bucket=BUCKET, Key="uploads/via-curl.txt")["Body"].read() == b"hello from boto3\n", "presigned PUT uploaded with curl")

# A manual multipart upload in 5 MiB parts.
part_size = 5 * 1024 * 1024
data = os.urandom(2 * part_size + 1000)
mpu = s3.create_multipart_upload(Bucket=BUCKET, Key="manual/multipart.bin")
parts = []
try:
    for i, off in enumerate(range(0, len(data), part_size), start=1):
        r = s3.upload_part(Bucket=BUCKET, Key="manual/multipart.bin", UploadId=mpu["UploadId"], PartNumber=i, Body=data[off:off + part_size])
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key="manual/multipart.bin", UploadId=mpu["UploadId"], MultipartUpload={"Parts": parts})
except Exception:
    s3.abort_multipart_upload(Bucket=BUCKET, Key="manual/multipart.bin", UploadId=mpu["UploadId"])
    raise
digests = b"".join(hashlib.md5(data[o:o + part_size]).digest() for o in range(0, len(data), part_size))
check(done["ETag"] == '"%s-3"' % hashlib.md5(digests).hexdigest(), "multipart ETag is md5-of-part-md5s-N")
check(s3.get_object(Bucket=BUCKET, Key="manual/multipart.bin")["Body"].read() == data, "multipart object reads back whole")

mpu = s3.create_multipart_upload(Bucket=BUCKET, Key="manual/aborted.bin")
s3.upload_part(Bucket=BUCKET, Key="manual/aborted.bin", UploadId=mpu["UploadId"], PartNumber=1, Body=b"x" * 1024)
check(len(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])) == 1, "list_multipart_uploads shows the open upload")
s3.abort_multipart_upload(Bucket=BUCKET, Key="manual/aborted.bin", UploadId=mpu["UploadId"])
check(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == [], "abort_multipart_upload removes it")
check(error_code(s3.list_parts, Bucket=BUCKET, Key="manual/aborted.bin", UploadId=mpu["UploadId"]) == "NoSuchUpload", "aborted upload is gone")

check(error_code(s3.delete_bucket, Bucket=BUCKET) == "BucketNotEmpty", "delete_bucket on a non-empty bucket answers BucketNotEmpty")
s3.delete_object(Bucket=BUCKET, Key="docs/small.txt")
check(error_code(s3.get_object, Bucket=BUCKET, Key="docs/small.txt") == "NoSuchKey", "deleted object answers NoSuchKey")
for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
    s3.delete_object(Bucket=BUCKET, Key=o["Key"])
s3.delete_bucket(Bucket=BUCKET)
check(error_code(s3.head_bucket, Bucket=BUCKET) == "404", "deleted bucket is gone")
print("boto3 flow passed")
