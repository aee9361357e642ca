"""Image captioning: describe a picture in one sentence (Flickr8k-style data)."""
