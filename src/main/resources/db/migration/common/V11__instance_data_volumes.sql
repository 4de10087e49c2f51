-- An image says where its instances keep their data: each instance gets a named Docker volume mounted at that
-- path, which outlives its containers. NULL: the image keeps no data (its instances get no volume). Images
-- registered before volumes existed get the default, /data.
ALTER TABLE images ADD COLUMN data_path VARCHAR(255) DEFAULT '/data';
-- An instance keeps the data path it was deployed (or last reinstalled) with; its volume is named after its
-- id. NULL: no volume (deployed from an image without data, or before volumes existed).
ALTER TABLE instances ADD COLUMN data_path VARCHAR(255);
