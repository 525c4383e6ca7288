"""geo: reading OSM and agency layers, coordinates, schemas, rule presets, building classes."""
