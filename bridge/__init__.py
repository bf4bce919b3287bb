"""facecast.bridge: wire protocol v1 (the one schema), publisher/subscriber and control socket.

    from facecast.bridge import Subscriber, ControlClient
"""

from facecast.bridge.control import ControlClient, ControlError, ControlServer
from facecast.bridge.protocol import (
    PROTOCOL_VERSION, EventMessage, FrameMessage, MotionMessage, ProtocolError, Stamp,
)
from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT, Publisher, Subscriber

__all__ = [
    "PROTOCOL_VERSION", "ControlClient", "ControlError", "ControlServer", "EventMessage", "FrameMessage",
    "MotionMessage", "ProtocolError", "Publisher", "Stamp", "Subscriber",
    "DEFAULT_PUB_ENDPOINT", "DEFAULT_CONTROL_ENDPOINT",
]
