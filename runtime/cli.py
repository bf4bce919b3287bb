def main(argv=None):
    print("facecast")
