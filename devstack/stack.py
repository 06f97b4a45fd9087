"""The whole local stack on 127.0.0.1: moto's S3 server, the COS stand-in in front of it, the VOD and TDMQ
emulators and the webhook receiver.

    with LocalStack(vod_options={"task_delay": 0.05}) as stack:
        stack.make_bucket("media-1250000000")
        os.environ.update(stack.env())    # the function under test now talks to the stack
        ...
        stack.cos.mode = "none"           # the COS stand-in's conditional semantics (back to "cos" on reset)
        stack.reset()                     # between tests: empty storage, emulator and webhook
        stack.set_latency(cos=0.02, vod=0.08)   # a production-like network (LocalStack(latency=...) too)
        stack.wire("cos").seen()          # every request the COS stand-in answered, with its times

Objects staged with ``stack.s3`` (boto3 on moto) are the objects the COS stand-in serves under the same
bucket name: ``stack.cos_client()`` (cos-python-sdk-v5) reaches them with COS signatures.

moto keeps its state per process: every ``ThreadedMotoServer`` (and ``mock_aws``) of one process shares
it, so ``reset()`` empties them all. Start one stack per test session and reset between tests; stopping
takes about half a second (werkzeug's shutdown poll).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import urllib.request
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from devstack.emulators.base import LATENCY_SERVICES, Wire, wire_at
from devstack.emulators.webhook import WebhookReceiver

if TYPE_CHECKING:
    from devstack.emulators.cos import CosStandIn, TemporaryKey
    from devstack.emulators.tdmq import TdmqEmulator
    from devstack.emulators.vod import VodEmulator

__all__ = ["LocalStack"]

HOST = "127.0.0.1"
REGION = "ap-guangzhou"
SECRET_ID = "AKIDlocalstack"  # noqa: S105 (a fixed id for a local emulator; the key is random)
SUB_APP_ID = 1500000001
RECEIPT_BUCKET = "element-receipts-1250000000"
SAMPLE_MEDIA_BUCKETS = ("media-1250000000", "studio-assets")  # the buckets of the samples and the demo
CONSOLE_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*")  # the CORS rule of the sample buckets
RELAY_JOB_SECRET = "devstack-relay-job-key-1"  # noqa: S105 (a fixed key for local relay jobs)
QUEUE_REGION = "us-east-1"  # moto's SQS knows AWS regions only; queue URLs do not name it


class LocalStack:
    """Starts and stops the local stand-ins together; a context manager.

    Credentials and the webhook secret are generated per stack. ``vod_options`` are keyword arguments
    for ``VodEmulator`` and override the stack's own (``credentials``, ``sub_app_ids``, ``host``).
    """

    def __init__(
        self,
        *,
        vod_options: Mapping[str, Any] | None = None,
        receipt_bucket: str = RECEIPT_BUCKET,
        latency: Mapping[str, float] | None = None,
    ) -> None:
        self.host = HOST
        self.region = REGION
        self.secret_id = SECRET_ID
        self.secret_key = secrets.token_hex(16)
        self.session_token = secrets.token_hex(32)
        self.callback_secret = f"whsec-{secrets.token_hex(16)}"
        self.sub_app_id = SUB_APP_ID
        self.receipt_bucket = receipt_bucket
        self.vod_options: dict[str, Any] = dict(vod_options or {})
        self.latency: dict[str, float] = dict(latency or {})  # applied at start and by reset()
        self._started: dict[str, Any] = {}
        self._exit: contextlib.ExitStack | None = None

    # life cycle

    def start(self) -> LocalStack:
        """Start moto's S3 server, the COS stand-in, the VOD emulator and the webhook receiver; returns self.

        If one of them fails to start, the ones already running are stopped before the error propagates.
        """
        if self._exit is not None:
            raise RuntimeError("the local stack is already running")
        with contextlib.ExitStack() as exit_stack:
            exit_stack.callback(self._started.clear)
            self._start_s3(exit_stack)
            self._start_cos(exit_stack)
            self._start_vod(exit_stack)
            self._start_tdmq(exit_stack)
            webhook = WebhookReceiver(secret=self.callback_secret, host=self.host).start()
            exit_stack.callback(webhook.stop)
            self._started["webhook"] = webhook
            self.make_bucket(self.receipt_bucket)
            self._exit = exit_stack.pop_all()
        self.set_latency(**self.latency)
        return self

    def stop(self) -> None:
        """Stop everything that runs, in reverse order of starting, even if one of them fails (idempotent)."""
        exit_stack, self._exit = self._exit, None
        if exit_stack is not None:
            exit_stack.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start_s3(self, exit_stack: contextlib.ExitStack) -> None:
        import boto3
        from botocore.config import Config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines
        server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        server.start()
        exit_stack.callback(server.stop)
        host, port = server.get_host_and_port()
        self._started["s3_endpoint"] = f"http://{host}:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=self._started["s3_endpoint"],
            region_name=self.region,
            aws_access_key_id=self.secret_id,
            aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        exit_stack.callback(client.close)
        self._started["s3"] = client

    def _start_cos(self, exit_stack: contextlib.ExitStack) -> None:
        from devstack.emulators.cos import CorsRule, CosStandIn

        # The CORS rule an operator gives the upload bucket for the console (README "Console"): a page
        # served on 127.0.0.1 or localhost, any port, may PUT (presigned uploads) and GET.
        console_rule = CorsRule(
            allowed_origins=CONSOLE_ORIGINS,
            allowed_methods=("PUT", "GET", "HEAD"),
            allowed_headers=("*",),
            expose_headers=("ETag", "x-cos-request-id"),
            max_age_seconds=600,
        )
        cos = CosStandIn(
            s3_endpoint=self.s3_endpoint,
            credentials={self.secret_id: (self.secret_key, self.session_token)},
            region=self.region,
            host=self.host,
            moto_in_process=True,  # the server _start_s3 started, in this process
        ).start()
        exit_stack.callback(cos.stop)
        for bucket in SAMPLE_MEDIA_BUCKETS:  # the console's presigned PUTs come from a local page
            cos.set_cors(bucket, [console_rule])
        self._started["cos"] = cos

    def _start_vod(self, exit_stack: contextlib.ExitStack) -> None:
        from devstack.emulators.vod import VodEmulator

        options: dict[str, Any] = {
            "credentials": {self.secret_id: (self.secret_key, self.session_token)},
            "sub_app_ids": {self.sub_app_id},
            "host": self.host,
            "cos_endpoint": self.cos_endpoint,
            **self.vod_options,
        }
        vod = VodEmulator(**options).start()
        exit_stack.callback(vod.stop)
        self._started["vod"] = vod

    def _start_tdmq(self, exit_stack: contextlib.ExitStack) -> None:
        from devstack.emulators.tdmq import TdmqEmulator

        credentials = {self.secret_id: (self.secret_key, self.session_token)}
        tdmq = TdmqEmulator(credentials=credentials, host=self.host).start()
        exit_stack.callback(tdmq.stop)
        self._started["tdmq"] = tdmq

    # the network

    def set_latency(self, **seconds: float) -> None:
        """Delay every answer of the stand-ins named (``cos``, ``vod``, ``tdmq``, ``webhook``, ``s3``) by
        that many seconds, and the others' by none; no argument: every stand-in answers at once.

        moto is not ours: naming ``s3`` (even with 0, for its request log) starts a storage proxy in
        front of it, and ``env()`` then points ``S3_ENDPOINT_URL`` at the proxy until ``reset()``; the
        stack's own ``s3`` client stays on moto, so staging is not delayed. Each stand-in's requests are
        logged (``wire``)."""
        unknown = set(seconds) - set(LATENCY_SERVICES)
        if unknown:
            raise ValueError(
                f"no stand-in named {', '.join(sorted(unknown))} (one of {', '.join(LATENCY_SERVICES)})"
            )
        if "s3" in seconds:
            self._s3_proxy()
        for name in self._wired():
            self.wire(name).latency = float(seconds.get(name, 0.0))
        missing = [name for name in seconds if seconds[name] and name not in self._wired()]
        if missing:  # a stand-in served some other way than devstack.emulators.base
            raise ValueError(f"{', '.join(missing)} cannot be delayed: no request log (Wire) for it")

    def _wired(self) -> list[str]:
        """The stand-ins that have a wire now (s3 once its proxy runs)."""
        found = []
        for name in LATENCY_SERVICES:
            try:
                self.wire(name)
            except (LookupError, RuntimeError):
                continue
            found.append(name)
        return found

    def wire(self, name: str) -> Wire:
        """The wire of stand-in ``name`` (its latency and its request log; ``devstack.emulators.base``);
        ``s3`` is the storage proxy's, once ``set_latency`` started it."""
        endpoints: dict[str, Callable[[], str]] = {
            "cos": lambda: self.cos_endpoint,
            "vod": lambda: self.vod.endpoint,
            "tdmq": lambda: self.tdmq.endpoint,
            "webhook": lambda: self.webhook.url,
            "s3": lambda: str(self._part("s3_proxy").url),
        }
        return wire_at(endpoints[name]())

    def _s3_proxy(self) -> Any:
        if "s3_proxy" not in self._started:
            from devstack.emulators.storage_proxy import StorageProxy

            proxy = StorageProxy(self.s3_endpoint).start()
            self._started["s3_proxy"] = proxy
            assert self._exit is not None, "the local stack is not running"
            self._exit.callback(proxy.stop)
        return self._started["s3_proxy"]

    # the parts

    def _part(self, name: str) -> Any:
        try:
            return self._started[name]
        except KeyError:
            raise RuntimeError("the local stack is not running: call start() first") from None

    @property
    def s3_endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` of moto's S3 server."""
        endpoint: str = self._part("s3_endpoint")
        return endpoint

    @property
    def s3(self) -> Any:
        """A boto3 S3 client bound to moto (SigV4, path-style, region ap-guangzhou)."""
        return self._part("s3")

    @property
    def cos(self) -> CosStandIn:
        """The COS stand-in (objects in moto; the stack's credentials and region)."""
        cos: CosStandIn = self._part("cos")
        return cos

    @property
    def cos_endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` of the COS stand-in (requests keep the bucket's domain as Host)."""
        return self.cos.endpoint

    def cos_client(self) -> Any:
        """A ``qcloud_cos.CosS3Client`` on the COS stand-in with the stack's credentials (no retries)."""
        from qcloud_cos import CosConfig, CosS3Client  # type: ignore[import-untyped,unused-ignore]

        config = CosConfig(
            Region=self.region,
            SecretId=self.secret_id,
            SecretKey=self.secret_key,
            Token=self.session_token,
            Scheme="http",
            IP=self.host,
            Port=self.cos.port,
        )
        return CosS3Client(config, retry=0)

    @property
    def vod(self) -> VodEmulator:
        """The VOD API emulator."""
        vod: VodEmulator = self._part("vod")
        return vod

    @property
    def tdmq(self) -> TdmqEmulator:
        """The TDMQ for CMQ stand-in (its data-flow API; ``CMQ_ENDPOINT``)."""
        tdmq: TdmqEmulator = self._part("tdmq")
        return tdmq

    @property
    def webhook(self) -> WebhookReceiver:
        """The webhook receiver, checking signatures with ``callback_secret``."""
        webhook: WebhookReceiver = self._part("webhook")
        return webhook

    # helpers

    def env(self) -> dict[str, str]:
        """The environment variables (docs/contracts.md §2) that point the function under test at this stack
        (S3 through the storage proxy once ``set_latency(s3=...)`` started it)."""
        s3_proxy = self._started.get("s3_proxy")
        s3_endpoint = s3_proxy.url if s3_proxy is not None else self.s3_endpoint
        return {
            "TENCENTCLOUD_SECRETID": self.secret_id,
            "TENCENTCLOUD_SECRETKEY": self.secret_key,
            "TENCENTCLOUD_SESSIONTOKEN": self.session_token,
            "TENCENTCLOUD_REGION": self.region,  # SCF always sets the function's region
            "VOD_ENDPOINT": self.vod.endpoint,
            "CMQ_ENDPOINT": self.tdmq.endpoint,  # the data-flow API (cmq-queue://, cmq-topic://)
            "RELAY_JOB_SECRET": RELAY_JOB_SECRET,  # signs and verifies relay jobs (SUBMIT_MODE=queue, drains)
            "VOD_SUBAPP_ID": str(self.sub_app_id),
            "CALLBACK_URL": self.webhook.url,
            "CALLBACK_SECRET": self.callback_secret,
            "COS_ENDPOINT_URL": self.cos_endpoint,
            "S3_ENDPOINT_URL": s3_endpoint,
            "STORAGE_ENDPOINT_URL": s3_endpoint,  # the older name, still read as the fallback
            "AWS_ACCESS_KEY_ID": self.secret_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "RECEIPT_BUCKET": self.receipt_bucket,
            "MEDIA_BUCKETS": ",".join(SAMPLE_MEDIA_BUCKETS),  # what cos:// and s3:// references may name
        }

    def make_bucket(self, name: str) -> str:
        """Create a bucket in moto (no error if it exists already); returns its name."""
        with contextlib.suppress(self.s3.exceptions.BucketAlreadyOwnedByYou):
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        return name

    @property
    def sqs(self) -> Any:
        """A boto3 SQS client bound to moto's server (same endpoint as S3), region ``QUEUE_REGION``."""
        if "sqs" not in self._started:
            import boto3

            self._started["sqs"] = boto3.client(
                "sqs",
                endpoint_url=self.s3_endpoint,
                region_name=QUEUE_REGION,
                aws_access_key_id=self.secret_id,
                aws_secret_access_key=self.secret_key,
            )
        return self._started["sqs"]

    def make_queue(self, name: str, **attributes: str) -> str:
        """Create an SQS queue in moto (``.fifo`` names make FIFO queues); returns its URL.

        Point the function at it with ``SUBMIT_QUEUE_URL=<url>`` and ``SUBMIT_QUEUE_REGION=us-east-1``.
        """
        if name.endswith(".fifo"):
            attributes.setdefault("FifoQueue", "true")
        url: str = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url

    def use_temporary_key(self, life: float) -> TemporaryKey:
        """Switch the function's credentials (``env()``) to a temporary key, as SCF's execution role
        hands out: the stand-ins accept it, and the COS stand-in refuses it ``life`` seconds from now,
        presigned URLs included (the VOD and TDMQ stand-ins model no expiry)."""
        key = self.cos.issue_temporary_key(life)
        for part in (self.vod, self.tdmq):
            part.credentials[key.secret_id] = (key.secret_key, key.token)
        self.secret_id, self.secret_key, self.session_token = key.secret_id, key.secret_key, key.token
        return key

    def reset(self) -> None:
        """Empty moto (process-wide), the emulator and the webhook, reset the COS stand-in (record, mode
        ``cos``); re-create the receipt bucket; latencies back to the stack's own, request logs emptied."""
        request = urllib.request.Request(f"{self.s3_endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        self.cos.reset()
        self.vod.reset()
        self.tdmq.reset()
        self.webhook.reset()
        self.make_bucket(self.receipt_bucket)
        if "s3" not in self.latency and "s3_proxy" in self._started:  # S3 straight to moto again
            self._started.pop("s3_proxy").stop()
        self.set_latency(**self.latency)
        for name in self._wired():
            self.wire(name).clear()
