# The quickstart's image: the statically linked app on an empty base.
FROM scratch
COPY app /app
ENV GREETING="Hello from a Berth container" PORT=8080
EXPOSE 8080
# Exec form: the image has no shell. The app checks itself at build time.
RUN ["/app", "-selftest"]
CMD ["/app"]
