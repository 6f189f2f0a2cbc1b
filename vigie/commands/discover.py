"""`vigie discover opcua`: browse a server and print tag entries for config.yaml."""

from __future__ import annotations

import asyncio

from vigie.commands import EXIT_OK, add_log_option
from vigie.errors import VigieError


def register(commands) -> None:
    parser = commands.add_parser(
        "discover",
        help="browse a device and print tag entries for config.yaml",
        description="Browse an OPC UA server and print a tag entry for every"
        " variable found, ready to paste under a device's 'tags:'.",
    )
    parser.add_argument("protocol", choices=["opcua"], help="protocol of the device")
    parser.add_argument("endpoint", help="server endpoint, opc.tcp://HOST:PORT[/PATH]")
    parser.add_argument(
        "--depth",
        type=int,
        default=5,
        metavar="N",
        help="levels of folders and objects to browse below the root (default: 5)",
    )
    parser.add_argument(
        "--root",
        default="i=85",
        metavar="NODE",
        help="node id to start from (default: i=85, the Objects folder)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds to wait for the connection and for each request (default: 5)",
    )
    add_log_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    if not args.endpoint.startswith("opc.tcp://"):
        raise VigieError(
            f"invalid endpoint {args.endpoint!r}: expected opc.tcp://HOST:PORT"
        )
    variables = asyncio.run(
        _discover(args.endpoint, args.root, args.depth, args.timeout)
    )

    from collectors.opcua.browse import yaml_entries

    print(f"## {len(variables)} variables found on {args.endpoint} below {args.root}.")
    print("    tags:")
    for line in yaml_entries(variables):
        print(line)
    return EXIT_OK


async def _discover(endpoint: str, root: str, depth: int, timeout_s: float) -> list:
    from asyncua import Client, ua

    from collectors.opcua.browse import browse_variables
    from collectors.opcua.node_ids import NodeIdError

    client = Client(endpoint, timeout=timeout_s)
    try:
        await asyncio.wait_for(client.connect(), timeout=timeout_s)
    except (TimeoutError, OSError, ua.UaError) as err:
        client.disconnect_socket()
        detail = str(err) or type(err).__name__
        raise VigieError(
            f"cannot connect to {endpoint}: {detail}; check that the server runs"
            " and that host and port are right"
        ) from None
    try:
        return await browse_variables(client, root, depth)
    except (ua.UaError, NodeIdError) as err:
        raise VigieError(f"browsing {endpoint} from {root} failed: {err}") from None
    finally:
        try:
            await asyncio.wait_for(client.disconnect(), timeout=timeout_s)
        except Exception:
            client.disconnect_socket()
