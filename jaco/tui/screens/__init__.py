"""Screens over the console: help, an audit event's details, save-as."""

from jaco.tui.screens.event_details import EventDetailsScreen
from jaco.tui.screens.help import HelpScreen
from jaco.tui.screens.save import SaveScreen

__all__ = ["EventDetailsScreen", "HelpScreen", "SaveScreen"]
