// The host side of @modelcontextprotocol/ext-apps, as tests/processes/test_board_app_browser.py's host page uses it.
export {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  buildAllowAttribute,
  getToolUiResourceUri,
} from "@modelcontextprotocol/ext-apps/app-bridge";
