// Public entry of the routing server plugin (the server's buildServer({plugins}) registers it).
export { routingPlugin, type RoutingPluginOptions } from './server/plugin.js';
export { annotatorPage, CONFIDENCE_LEVELS } from './server/page.js';
