"""Media: references, where they point, and VOD's documented media rules checked from their headers.

    refs          media references (``https://``, ``cos://``, ``s3://``, folder-relative): parsing only
    resolve       references → fetchable URLs and the identity each contributes to the SessionId
    preflight     VOD's documented media rules checked from headers (MEDIA_PREFLIGHT=on)
    reads         ranged reads of a media file from object storage or an ``https://`` URL
    pinned        the probes' HTTPS transport: to the address checked, ended at the probe's deadline
    movie_header  MP4 and QuickTime MOV headers read from their boxes
    image_header  image formats by content, and the pixel size

Nothing is imported here: each module is imported on its own path.
"""
